"""Self-contained web viewer (.html): the embedded clip read back against Motion.positions(), the
title, no network references, several people, errors, the CLI; and, where /usr/bin/chromium exists,
the page in headless Chromium: it runs without script errors, a screenshot shows the figure and a
later time shows it elsewhere. The browser tests are skipped where Chromium is missing."""

import html
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run
from motion_samples import synthetic_walk
from PIL import Image

from motiongen.errors import UserError
from motiongen.io import save_motion
from motiongen.motion.skeleton import JOINT_NAMES, PARENTS

CHROMIUM = Path("/usr/bin/chromium")
DATA = re.compile(r'<script id="motion-data" type="application/json">(.*?)</script>', re.S)
FIRST_COLOUR = np.array([0xCC, 0x85, 0x3F])  # the viewer's colour for the first person


def embedded(path: Path) -> dict:
    (text,) = DATA.findall(path.read_text(encoding="utf-8"))
    return json.loads(text)


def test_page_holds_the_clip_and_title(tmp_path):
    motion = synthetic_walk(frames=30, caption='a person walks </script><b> & "waves"')
    motion.meta.update(seed=7, sampler="ddim")
    path = save_motion(motion, tmp_path / "walk.html")
    page = path.read_text(encoding="utf-8")
    clip = embedded(path)

    assert clip["parents"] == list(PARENTS) and clip["joint_names"] == list(JOINT_NAMES)
    assert clip["fps"] == 20.0 and len(clip["people"]) == 1
    frames = np.array(clip["people"][0]["frames"]).reshape(30, 22, 3)
    np.testing.assert_allclose(frames, motion.positions(), atol=6e-5)
    assert clip["people"][0]["meta"] == {"caption": motion.meta["caption"], "seed": 7, "sampler": "ddim"}
    # The caption is the title, escaped; it cannot close the data's <script> element.
    assert f"<title>{html.escape(motion.meta['caption'])}</title>" in page
    assert page.count("</script>") == 3 and "<b>" not in page
    # Self-contained: nothing fetched from anywhere.
    assert not re.search(r"https?://|\bsrc=|<link\b|import\(|fetch\(", page)


def test_several_people_keep_their_lengths_at_the_first_rate(tmp_path):
    leader = synthetic_walk(frames=40, fps=20.0, caption="two people dance")
    partner = synthetic_walk(frames=30, fps=30.0, start=(1.0, 0.0), heading=np.pi)
    clip = embedded(save_motion([leader, partner], tmp_path / "duet.html"))
    assert [len(p["frames"]) for p in clip["people"]] == [40, len(partner.resampled(20.0))]
    second = np.array(clip["people"][1]["frames"]).reshape(-1, 22, 3)
    np.testing.assert_allclose(second, partner.resampled(20.0).positions(), atol=6e-5)


def test_bad_input_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no motions"):
        save_motion([], tmp_path / "none.html")
    broken = synthetic_walk(frames=10)
    broken.root[3, 1] = np.nan
    with pytest.raises(UserError, match="NaN"):
        save_motion(broken, tmp_path / "nan.html")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_cli_writes_html_and_keeps_existing_files(tmp_path, monkeypatch, capsys):
    bvh = save_motion(synthetic_walk(frames=20), tmp_path / "walk.bvh")
    out = tmp_path / "walk.html"
    code, stdout, err = run(monkeypatch, capsys, "convert", bvh, "-o", out)
    assert code == 0 and out.exists(), err
    assert_one_line_error(run(monkeypatch, capsys, "convert", bvh, "-o", out), "--force")
    code, stdout, err = run(monkeypatch, capsys, "render", bvh, bvh, "-o", tmp_path / "two.html")
    assert code == 0 and len(embedded(tmp_path / "two.html")["people"]) == 2, err


# -- in a browser ---------------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")


def chromium(tmp_path: Path, url: str, *mode: str) -> str:
    """Headless Chromium on `url` with a fresh profile and no network; its stdout."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=640,480",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
    ]
    result = subprocess.run([str(CHROMIUM), *flags, *mode, url], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def screenshot(tmp_path: Path, url: str, name: str) -> np.ndarray:
    shot = tmp_path / name
    chromium(tmp_path, url, f"--screenshot={shot}")
    return np.asarray(Image.open(shot).convert("RGB")).astype(int)


def figure_pixels(picture: np.ndarray) -> np.ndarray:
    """(row, column) of pixels in the first person's colour."""
    return np.argwhere(np.abs(picture - FIRST_COLOUR).sum(-1) < 40)


@needs_chromium
def test_page_runs_without_errors(tmp_path):
    path = save_motion(synthetic_walk(frames=40, caption="a person walks"), tmp_path / "walk.html")
    dom = chromium(tmp_path, path.as_uri() + "#t=0.5", "--dump-dom")
    assert 'data-status="ready"' in dom and 'id="viewer-error"' not in dom, dom[-2000:]
    assert 'data-frame="10"' in dom  # 0.5 s at 20 fps

    # The error marker works: a page whose data is broken says so.
    broken = tmp_path / "broken.html"
    broken.write_text(DATA.sub('<script id="motion-data" type="application/json">{}</script>', path.read_text()))
    dom = chromium(tmp_path, broken.as_uri(), "--dump-dom")
    assert 'data-status="error"' in dom and 'id="viewer-error"' in dom


@needs_chromium
def test_screenshots_show_the_figure_moving(tmp_path):
    path = save_motion(synthetic_walk(frames=40, speed=1.2), tmp_path / "walk.html")
    start = figure_pixels(screenshot(tmp_path, path.as_uri() + "#t=0", "start.png"))
    later = figure_pixels(screenshot(tmp_path, path.as_uri() + "#t=1.5", "later.png"))
    assert len(start) > 300 and len(later) > 300, (len(start), len(later))
    # 1.8 m of walking moves the figure across the fixed camera's picture.
    shift = np.linalg.norm(later.mean(0) - start.mean(0))
    assert shift > 40, shift
