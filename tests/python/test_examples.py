"""The examples run, shortened."""
import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def run(name, *args):
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_tinybot_demo(model):
    out = run("tinybot_demo.py", "--questions", "2", "--max-new-tokens", "8")
    assert out.count("⚡") == 3 and "answers identical" in out


def test_tracker_loop(model, cli, tmp_path):
    out = run("tracker_loop.py", "--tokens", "4", "--out", str(tmp_path / "run.json"))
    assert "📊 Performance metrics" in out and "4 output" in out
    cli("report", str(tmp_path / "run.json"), "--out-dir", str(tmp_path), "--format", "svg")
