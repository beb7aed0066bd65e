"""lifting"""
