"""Whole-process start-up of the ``matterstack`` command against a bare typer app.

Runs ``matterstack --help``, ``matterstack plugins`` and a typer "hello" app (written to a
temporary file) with the same interpreter, interleaved in one run, after warm-up; reports the
median wall time of each and its ratio to the typer baseline (target: at most 1.5x).

    python bench/bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 1.5
HELLO_APP = '''\
import typer

app = typer.Typer()


@app.command()
def hello(name: str = "world") -> None:
    """Say hello."""
    print(f"hello {name}")


@app.command()
def goodbye() -> None:
    """Say goodbye."""
    print("goodbye")


app()
'''


def wall_ms(command: list[str]) -> float:
    """Run ``command`` once, output discarded; its wall time in milliseconds."""
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs per command (at least 15)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs per command first")
    options = parser.parse_args()
    runs = max(options.runs, 15)
    with tempfile.TemporaryDirectory() as folder:
        hello = Path(folder) / "hello_typer.py"
        hello.write_text(HELLO_APP)
        commands = {
            "typer hello --help (baseline)": [sys.executable, str(hello), "--help"],
            "matterstack --help": [sys.executable, "-m", "matterstack", "--help"],
            "matterstack plugins": [sys.executable, "-m", "matterstack", "plugins"],
        }
        for command in commands.values():
            for _ in range(options.warmup):
                wall_ms(command)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, command in commands.items():
                samples[name].append(wall_ms(command))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    baseline = medians["typer hello --help (baseline)"]
    print(f"start-up, median of {runs} runs each, python {sys.version.split()[0]} ({sys.executable})")
    for name, median in medians.items():
        ratio = median / baseline
        verdict = "" if name.endswith("(baseline)") else ("  ok" if ratio <= TARGET_RATIO else f"  OVER the {TARGET_RATIO}x target")
        print(f"  {name:<32} {median:7.1f} ms  {ratio:4.2f}x{verdict}")


if __name__ == "__main__":
    main()
