"""Formatting metric results as table rows (rich tables in the CLI, Markdown in docs/benchmarks.md)."""

from __future__ import annotations

from motiongen.metrics.physics import METRIC_NAMES as PHYSICS_NAMES

GENERATION_COLUMNS = {
    "fid": ("FID ↓", 3),
    "top1": ("R@1 ↑", 3),
    "top2": ("R@2 ↑", 3),
    "top3": ("R@3 ↑", 3),
    "mm_dist": ("MM-Dist ↓", 3),
    "diversity": ("Diversity →", 3),
    "multimodality": ("MModality ↑", 3),
}
HML3D_COLUMNS = {"fid_hml3d": ("FID (HumanML3D ev.) ↓", 3), "diversity_hml3d": ("Diversity (HumanML3D ev.) →", 3)}
PHYSICS_COLUMNS = {
    "skating_ratio": ("Skate ↓", 3),
    "jitter": ("Jitter m/s³ ↓", 1),
    "penetration": ("Penetr. m ↓", 4),
    "floating_ratio": ("Float ↓", 3),
    "bone_drift": ("Bone drift m ↓", 5),
}
assert set(PHYSICS_COLUMNS) == set(PHYSICS_NAMES)


def guidance_label(settings: dict) -> str:
    """', guidance 2.5 projected' (or 'plain') for a guided sampler's run settings; '' for a flow
    student, whose guidance is baked in. Runs saved before the option existed get no mode."""
    if settings["sampler"] == "flow":
        return ""
    mode = {True: " projected", False: " plain"}.get(settings.get("projected_guidance"), "")
    side = f", side {settings['side_guidance']:g}" if settings.get("side_guidance") else ""
    return f", guidance {settings['guidance']:g}{mode}{side}"


def cell(summary: dict | None, key: str, digits: int) -> str:
    """'mean ± ci' of a summarised metric ({"mean", "ci"}), or '-' when absent."""
    if not summary or key not in summary:
        return "-"
    value = summary[key]
    return f"{value['mean']:.{digits}f} ± {value['ci']:.{digits}f}"


def row(summary: dict | None, columns: dict) -> list[str]:
    return [cell(summary, key, digits) for key, (_, digits) in columns.items()]


def physics_row(values: dict[str, float]) -> list[str]:
    """A row of plain (not repeated) physics values."""
    return [f"{values[key]:.{digits}f}" for key, (_, digits) in PHYSICS_COLUMNS.items()]


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
