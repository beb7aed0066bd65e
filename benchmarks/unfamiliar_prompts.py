"""Which prompts does the shipped model call unfamiliar? The threshold (known_actions.json) is the
5th percentile of the held-out captions' similarity to their nearest training caption; this lists
prompts a new user tries, with the closest known actions the note names.

    .venv/bin/python benchmarks/unfamiliar_prompts.py [--checkpoint checkpoints/t2m]

Prints a Markdown table (prompt, nearest similarity, unfamiliar?, closest known actions).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from motiongen.conditioning.familiarity import KnownActions
from motiongen.pipelines.text2motion import TextToMotionPipeline, default_checkpoint

PROMPTS = [
    # outside corpus v2 (the examples, and others)
    "a person sits down on a chair",
    "a person picks up a box",
    "a person walks backwards",
    "a person does jumping jacks",
    "a person waves with the right hand",
    "a person swims",
    "a person climbs a ladder",
    "a person plays the guitar",
    "a person throws a ball",
    # inside it, in words its captions do not use
    "a person dances salsa",
    "a person does a karate kick",
    "a person walks forward, then jumps",
    "a person does a cartwheel",
    "someone sprints",
    "a person does an indian dance",
    "a person ducks under a bar",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=default_checkpoint())
    args = parser.parse_args()
    torch.set_num_threads(1)
    pipe = TextToMotionPipeline.from_pretrained(args.checkpoint)
    known = KnownActions.from_folder(args.checkpoint)
    if known is None:
        raise SystemExit(f"{args.checkpoint} has no known_actions.json (trained before corpus v2)")
    encode = pipe.text_conditioner.cache
    print(f"threshold {known.threshold:.3f} ({len(known.actions)} actions)\n")
    print("| prompt | nearest caption similarity | unfamiliar | closest known actions |")
    print("| --- | ---: | --- | --- |")
    for prompt in PROMPTS:
        far = known.unfamiliar(encode, prompt)
        nearest = known.nearest(encode, prompt)
        closest = ", ".join(far[0].closest_actions) if far else ""
        print(f"| {prompt} | {nearest:.3f} | {'yes' if far else 'no'} | {closest} |")


if __name__ == "__main__":
    main()
