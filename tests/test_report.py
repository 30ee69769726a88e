"""`halo-forge report` in a real browser: Debian's headless Chromium, driven through the DevTools
protocol. The page must load without console errors, show its charts and sample browser, filter,
open a sample with the same task across cycles, and never run model-written markup. Screenshots
go to test-artifacts/."""

import gzip
import json
from pathlib import Path

import pytest

from tests.cdp import Browser, chromium_path
from tests.test_raft import write_config

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
EVIDENCE = ROOT / "docs" / "results" / "evidence" / "gsm8k"


@pytest.fixture(scope="module")
def browser():
    assert chromium_path(), "chromium is missing: scripts/test.sh installs it (Debian package 'chromium')"
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def raft_run(tiny_model_dir, tmp_path_factory):
    """A real 2-cycle RAFT run on the tiny model, through the CLI (which writes the report)."""
    import contextlib
    import io

    from halo_forge.cli.main import main

    tmp = tmp_path_factory.mktemp("report")
    out = tmp / "run"
    cfg = write_config(tmp, tiny_model_dir, out, epochs=1)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["-q", "raft", "train", "--config", str(cfg)])
    assert code == 0
    return out, buf.getvalue()


def test_raft_train_ends_with_the_report_path(raft_run):
    out, printed = raft_run
    assert printed.strip().splitlines()[-1] == f"report: {out / 'report.html'}"
    assert (out / "report.html").stat().st_size > 10_000


def test_raft_report_in_chromium(browser, raft_run):
    out, _ = raft_run
    browser.open((out / "report.html").as_uri())
    assert browser.errors() == []
    charts = browser.js("[...document.querySelectorAll('svg.chart')].map(s => s.dataset.chart)")
    assert {"pass-rate", "reward", "kept", "timing", "throughput", "hist-0", "hist-1"} <= set(charts)
    assert browser.js("document.querySelectorAll('#sample-rows tr').length") == 48  # 2 cycles x 6 tasks x 4
    browser.screenshot(ARTIFACTS / "report_raft.png")

    verdicts = browser.js("""(() => { const f = document.getElementById('f-verdict'); f.value = 'passed';
        f.dispatchEvent(new Event('change'));
        return [...document.querySelectorAll('#sample-rows tr td:nth-child(5)')].map(td => td.textContent); })()""")
    passed = json.loads((out / "training_summary.json").read_text())["cycles"]
    assert len(verdicts) == min(50, sum(round(c["pass_rate"] * c["samples"]) for c in passed))
    assert verdicts and all(v.startswith("passed") for v in verdicts)

    tasks = browser.js("""(() => { const f = document.getElementById('f-verdict'); f.value = '';
        f.dispatchEvent(new Event('change')); const s = document.getElementById('f-search'); s.value = 't3';
        s.dispatchEvent(new Event('input'));
        return [...document.querySelectorAll('#sample-rows tr td:nth-child(2)')].map(td => td.textContent); })()""")
    assert tasks and set(tasks) == {"t3"} and len(tasks) == 8

    across = browser.js("""(() => { document.querySelector('#sample-rows tr').click();
        return [!document.getElementById('detail').hidden,
                [...document.querySelectorAll('#across-rows tr td:first-child')].map(td => td.textContent)]; })()""")
    shown, groups = across
    assert shown and sorted(set(groups)) == ["cycle 1", "cycle 2"] and len(groups) == 8
    assert browser.js("document.getElementById('detail-prompt').textContent").startswith("Say something about")
    browser.screenshot(ARTIFACTS / "report_raft_detail.png")


def test_comparison_report_in_chromium(browser, run_cli, tmp_path):
    base, sft = EVIDENCE / "base.json", EVIDENCE / "sft" / "seed_42.json"
    code, out, _ = run_cli("report", str(base), str(sft), "-o", str(tmp_path / "cmp.html"))
    assert code == 0 and out.strip() == f"report: {tmp_path / 'cmp.html'}"
    seconds = browser.open((tmp_path / "cmp.html").as_uri())
    assert browser.errors() == []
    cells = browser.js("[...document.querySelectorAll('#comparison tbody td')].map(td => td.textContent)")
    assert cells[:3] == ["sft/seed_42", "gsm8k/base", "pass@1"] and cells[5] == "+2.0 pts"
    assert "47/21" in cells[8]  # McNemar: the same figures as docs/results.md
    assert browser.js("document.querySelectorAll('svg.chart').length") >= 4
    count = browser.js("""(() => { const g = document.getElementById('f-group'); g.value = 'sft/seed_42';
        g.dispatchEvent(new Event('change')); return document.getElementById('count').textContent; })()""")
    assert count == "1319 of 2638 samples"
    browser.screenshot(ARTIFACTS / "report_comparison.png")
    assert seconds < 10


def _hostile_result(tmp: Path) -> Path:
    evil = '</script><img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script><b>bold</b>'
    rows = [{"task_id": f"t{i}", "sample_index": 0, "completion": evil, "reward": 1.0 if i % 2 else 0.0,
             "passed": bool(i % 2), "stage": "test", "error": None, "details": {"stderr": evil},
             "task": {"id": f"t{i}", "prompt": evil}} for i in range(4)]
    samples = tmp / "evil.samples.jsonl.gz"
    with gzip.open(samples, "wt") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    result = {"pass_at_k": {"1": 0.5}, "pass_rate": 0.5, "total": 4, "problems": 4, "samples_file": str(samples),
              "config": {"model": "m", "output": str(tmp / "evil.json")}, "provenance": {"verifier": "custom"}}
    (tmp / "evil.json").write_text(json.dumps(result))
    return tmp / "evil.json"


def test_model_output_is_shown_as_text_never_run(browser, run_cli, tmp_path):
    result = _hostile_result(tmp_path)
    code, out, _ = run_cli("report", str(result))
    assert code == 0
    page = tmp_path / "evil.report.html"
    assert "</script><img" not in page.read_text()
    browser.open(page.as_uri())
    assert browser.errors() == []
    assert browser.js("document.title") != "pwned"
    assert browser.js("document.querySelectorAll('img, b').length") == 0
    text = browser.js("""(() => { document.querySelector('#sample-rows tr').click();
        return document.getElementById('detail-completion').textContent; })()""")
    assert text.startswith("</script><img src=x")


def test_report_of_a_large_run_embeds_a_bounded_sample(run_cli, tmp_path):
    from halo_forge.report.collect import load_inputs

    data = load_inputs([str(EVIDENCE / "base.json")], budget=500)
    assert 0 < len(data.samples) <= 500 and data.total_samples == 1319
    assert len({s["t"] for s in data.samples}) == len(data.samples)  # whole tasks (1 sample each here)
    code, _, err = run_cli("report", str(tmp_path / "nope.json"))
    assert code == 2 and "not found" in err
