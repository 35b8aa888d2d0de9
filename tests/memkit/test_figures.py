"""memkit.figures: the figure command any experiment family builds its scripts on.

memkit is the bottom floor: it imports neither uddm nor amsim; each family passes in how
it loads its results and describes its settings.
"""
import ast
import json
from pathlib import Path

import click
from click.testing import CliRunner

from memkit.figures import NotReady, caption, figure_command, legend_outside, size_colours, use_agg

MEMKIT = Path(__file__).resolve().parents[2] / "memkit"


def test_memkit_imports_no_model_package():
    for path in sorted(MEMKIT.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for n in names:
                assert n.split(".")[0] not in ("uddm", "amsim"), f"{path.name} imports {n}"


def _toy(load):
    @figure_command("toy", "A toy figure.", load=load,
                    describe=lambda s, r: f"{s['name']}: {len(r)} results",
                    options=[click.option("--n", type=int, default=3)],
                    record=lambda s, r: {"settings": s},
                    extras=lambda s, r, out: [Path(out) / "toy_extra.txt"])
    def main(settings, results):
        plt = use_agg()
        fig, ax = plt.subplots()
        for c, y in zip(size_colours(len(results)), results):
            ax.plot([0, 1], [y, y], color=c, label=f"y = {y}")
        legend_outside(fig, ax)
        caption(fig, "settings line", "more")
        return fig, {"curves": results}
    return main


def test_a_figure_command_writes_the_png_the_json_and_its_extras(tmp_path):
    seen = {}

    def load(progress, n):
        seen.update(progress=progress, n=n)
        return {"name": "toy"}, list(range(n))

    main = _toy(load)
    r = CliRunner().invoke(main, ["--out", str(tmp_path), "--n", "4", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert seen == {"progress": False, "n": 4}
    assert (tmp_path / "toy.png").read_bytes()[:4] == b"\x89PNG"
    data = json.loads((tmp_path / "toy.json").read_text())
    assert data["figure"] == "toy" and data["caption"] == "toy: 4 results"
    assert data["settings"] == {"name": "toy"} and data["curves"] == [0, 1, 2, 3]
    assert data["seconds"] >= 0
    assert r.output.strip() == f"wrote {tmp_path / 'toy.png'}, {tmp_path / 'toy.json'} and " \
                               f"{tmp_path / 'toy_extra.txt'}"
    assert main.make is not None and [p.name for p in main.params][:1] == ["n"]


def test_a_figure_whose_inputs_are_not_ready_draws_nothing(tmp_path):
    def load(progress, n):
        raise NotReady("shard 1/2 done; draw once every shard is done")

    r = CliRunner().invoke(_toy(load), ["--out", str(tmp_path)])
    assert r.exit_code == 0 and "shard 1/2 done" in r.output, r.output
    assert not list(tmp_path.iterdir())


def test_a_bad_out_folder_is_one_line_before_any_work(tmp_path):
    (tmp_path / "file").write_text("x")
    calls = []
    r = CliRunner().invoke(_toy(lambda progress, n: calls.append(1)),
                           ["--out", str(tmp_path / "file")])
    assert r.exit_code == 2 and not calls
    lines = [line for line in r.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and "file" in lines[0], r.output
