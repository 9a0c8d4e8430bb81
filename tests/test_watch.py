"""``sead watch`` (sead.telemetry.watch): inputs, bad input, outputs, checkpoints and exact resume
(SIGKILL in a subprocess), Alertmanager (the real one, tests/_alertmanager.py), OTLP files from the
OpenTelemetry SDK, ``--demo`` and the commands of docs/telemetry.md."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sead.datasets import agent_telemetry
from sead.telemetry import watch
from sead.telemetry.watch import WatchOptions, alert_quality

# The fixture alertmanager comes from tests/_alertmanager.py through tests/conftest.py.
from ._alertmanager import Proxy

ROOT = Path(__file__).resolve().parents[1]
FAST_POLICY = {"warmup": 40, "q": 0.95, "window": 200, "confirm": 2, "of": 3}


def data_file(path, n_agents=6, steps=300, seed=0):
    d = agent_telemetry(n_agents=n_agents, steps=steps, seed=seed)
    d.to_jsonl(path)
    return d


def run_watch(tmp_path, stdin=None, **kw):
    out, err = io.StringIO(), io.StringIO()
    kw.setdefault("policy", dict(FAST_POLICY))
    kw.setdefault("quiet", False)
    status = watch.run(WatchOptions(**kw), stdout=out, stderr=err, stdin=stdin)
    return status, out.getvalue(), err.getvalue()


def events_of(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def sead_cmd(*args):
    return [sys.executable, "-m", "sead", *args]


# ------------------------------------------------------------------------------------------ input


def test_a_file_of_json_lines_gives_events_on_stdout(tmp_path):
    data_file(tmp_path / "in.jsonl")
    status, out, err = run_watch(tmp_path, input=str(tmp_path / "in.jsonl"))
    assert status == 0
    ev = events_of(out)
    assert ev and {e["event"] for e in ev} <= {"alert", "resolved"}
    assert all(e["score"] >= e["threshold"] for e in ev if e["event"] == "alert")
    assert "1,800 records, 6 keys" in err
    assert "\r" not in err  # no status line when stderr is not a terminal


def test_every_kind_of_bad_input_is_counted_reported_with_its_line_and_dead_lettered(tmp_path):
    good = [
        json.dumps({"agent": "a", "ts": float(i), "latency_ms": 100.0 + i % 5, "ok": True})
        for i in range(60)
    ]
    bad = [
        "{not json",  # 61 malformed line
        json.dumps([1, 2]),  # 62 not an object
        json.dumps({"ts": 61.0, "latency_ms": 1.0, "ok": True}),  # 63 no key
        json.dumps({"agent": "a", "ts": "noon", "latency_ms": 1.0, "ok": True}),  # 64 bad time
        json.dumps({"agent": "a", "ts": 62.0, "latency_ms": "fast", "ok": True}),  # 65 non-numeric
        json.dumps({"agent": "a", "ts": 1.0, "latency_ms": 100.0, "ok": True}),  # 66 time backwards
        json.dumps({"agent": "a", "ts": 63.0, "ok": True}),  # 67 missing field
        json.dumps({"agent": "a", "ts": 64.0, "latency_ms": 1e400, "ok": True}),  # 68 overflow
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(good + bad) + "\n")
    status, out, err = run_watch(tmp_path, input=str(path), dead_letter=str(tmp_path / "dl.jsonl"))
    assert status == 0
    lines = [ln for ln in err.splitlines() if re.match(r".*in\.jsonl:\d+: ", ln)]
    got = [(int(re.search(r":(\d+): ", ln).group(1)), ln.split(": ")[1]) for ln in lines]
    assert got == [
        (61, "bad_line"),
        (62, "bad_line"),
        (68, "bad_line"),
        (63, "bad_key"),
        (64, "bad_time"),
        (65, "bad_field"),
        (67, "missing_field"),
        (66, "time_backwards"),
    ]
    assert "'fast'" in err and "imputed" in err
    dl = [json.loads(x) for x in (tmp_path / "dl.jsonl").read_text().splitlines()]
    assert [d["line"] for d in dl] == [n for n, _ in got]
    assert {d["action"] for d in dl if d["kind"] == "missing_field"} == {"imputed"}
    assert dl[0]["raw"] == "{not json" and dl[5]["record"]["latency_ms"] == "fast"
    assert "8 problems" in err and "bad_line 3" in err


def test_csv_input(tmp_path):
    d = agent_telemetry(n_agents=3, steps=200, seed=1)
    path = tmp_path / "in.csv"
    d.records.drop(columns=["label", "incident"]).to_csv(path, index=False)
    with open(path, "a") as fh:
        fh.write("agent-000,1735699999.0,12.5,1,1,1,maybe,0.1\n")
    status, out, err = run_watch(tmp_path, input=str(path), format="csv")
    assert status == 0
    assert "in.csv:602: bad_field: field 'error'" in err
    assert "601 records, 3 keys" in err


def test_stdin_input(tmp_path):
    data_file(tmp_path / "in.jsonl", n_agents=3, steps=200)
    stdin = io.BytesIO((tmp_path / "in.jsonl").read_bytes())
    status, out, err = run_watch(tmp_path, input="-", stdin=stdin)
    assert status == 0 and "600 records, 3 keys" in err
    whole = run_watch(tmp_path, input=str(tmp_path / "in.jsonl"))[1]
    assert out == whole


def test_bucketed_input(tmp_path):
    data_file(tmp_path / "in.jsonl", n_agents=3, steps=300)
    status, out, err = run_watch(
        tmp_path,
        input=str(tmp_path / "in.jsonl"),
        bucket="30s",
        fields=("latency_ms", "error"),
        policy={"warmup": 5, "window": 20, "q": 0.9},
    )
    assert status == 0, err
    for e in events_of(out):
        assert set(e["record"]) == {
            "agent",
            "ts",
            "count",
            "latency_ms_mean",
            "latency_ms_p95",
            "error_rate",
        }
        assert e["record"]["ts"] % 30 == 0


def test_usage_errors_exit_2(tmp_path):
    assert run_watch(tmp_path)[0] == 2
    status, _, err = run_watch(tmp_path, input="x.jsonl", resume=True)
    assert status == 2 and "--resume needs --checkpoint" in err
    status, _, err = run_watch(tmp_path, input=str(tmp_path / "missing.jsonl"))
    assert status == 2 and "no such file" in err
    status, _, err = run_watch(tmp_path, input="x", policy={"q": 2.0})
    assert status == 2 and "q" in err
    r = subprocess.run(sead_cmd("watch", "x", "--fields", "a,,b"), capture_output=True, text=True)
    assert r.returncode == 2 and "--fields" in r.stderr


def test_follow_reads_appended_lines_and_survives_rotation(tmp_path):
    path = tmp_path / "app.jsonl"
    d = agent_telemetry(n_agents=2, steps=150, seed=0)
    lines = [
        json.dumps(r) for r in d.records.drop(columns=["label", "incident"]).to_dict("records")
    ]
    path.write_text("\n".join(lines[:100]) + "\n")
    ck = (
        tmp_path / "ck"
    )  # the checkpoints say how far the watcher got (a cold start compiles first)
    proc = subprocess.Popen(
        sead_cmd(
            "watch",
            str(path),
            "--follow",
            "--poll-interval",
            "0.05",
            "--no-progress",
            "--checkpoint",
            str(ck),
            "--checkpoint-every",
            "1",
            "--batch-size",
            "50",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait(lambda: _checkpoint_line(ck) >= 100, timeout=300), (
            "the first lines were not read"
        )
        with open(path, "a") as fh:
            fh.write("\n".join(lines[100:200]) + "\n")
        assert _wait(lambda: _checkpoint_line(ck) >= 200, timeout=60), (
            "the appended lines were not read"
        )
        os.rename(path, tmp_path / "app.jsonl.1")
        path.write_text("\n".join(lines[200:]) + "\n")
        assert _wait(lambda: 0 < _checkpoint_line(ck) < 200, timeout=60), (
            "the new file was not read"
        )
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "was rotated" in err
    assert "300 records, 2 keys" in err and "stopped by SIGTERM" in err


# -------------------------------------------------------------------------------------- checkpoints


def test_a_checkpoint_is_refused_without_resume_and_with_other_options(tmp_path):
    data_file(tmp_path / "in.jsonl", n_agents=2, steps=100)
    kw = dict(
        input=str(tmp_path / "in.jsonl"),
        checkpoint=str(tmp_path / "ck"),
        alerts=str(tmp_path / "a.jsonl"),
    )
    assert run_watch(tmp_path, **kw)[0] == 0
    status, _, err = run_watch(tmp_path, **kw)
    assert status == 2 and "--resume" in err
    status, _, err = run_watch(tmp_path, resume=True, **{**kw, "policy": {**FAST_POLICY, "q": 0.9}})
    assert status == 2 and "policy" in err
    before = (tmp_path / "a.jsonl").read_bytes()
    status, _, err = run_watch(tmp_path, resume=True, **kw)  # nothing new: nothing written
    assert status == 0 and "resuming from checkpoint" in err
    assert (tmp_path / "a.jsonl").read_bytes() == before


def _stream_lines(n_agents=30, steps=300, seed=3):
    d = agent_telemetry(n_agents=n_agents, steps=steps, seed=seed)
    recs = d.records.drop(columns=["label", "incident"]).to_dict("records")
    lines = [json.dumps(r) for r in recs]
    # bad lines along the way, so the dead-letter file is resumed too
    for i in range(500, len(lines), 1500):
        lines[i] = "{broken"
    return lines


def _wait(pred, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def _checkpoint_line(ck):
    try:
        cur = (ck / "CURRENT").read_text().strip()
        return json.loads((ck / cur / "state.json").read_text())["position"]["line"]
    except (OSError, ValueError, KeyError, TypeError):
        return 0


@pytest.mark.slow
def test_sigkill_mid_stream_then_resume_gives_exactly_the_uninterrupted_alerts(
    tmp_path, alertmanager
):
    lines = _stream_lines()
    policy = ["--warmup", "40", "--q", "0.95", "--window", "200", "--confirm", "2", "--of", "3"]
    full = tmp_path / "full.jsonl"
    full.write_text("\n".join(lines) + "\n")

    def posted(proxy):
        return {
            (a["labels"]["sead_fingerprint"], a["startsAt"], a.get("endsAt"))
            for a in proxy.delivered
        }

    # the uninterrupted run
    p1 = Proxy(alertmanager.url)
    try:
        r = subprocess.run(
            sead_cmd(
                "watch",
                str(full),
                "--alerts",
                str(tmp_path / "a_full.jsonl"),
                "--dead-letter",
                str(tmp_path / "dl_full.jsonl"),
                "--alertmanager",
                p1.url,
                *policy,
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        want_posts = posted(p1)
    finally:
        p1.close()
    want = (tmp_path / "a_full.jsonl").read_bytes()
    assert want.count(b"\n") >= 4 and want_posts

    # the same input, half of it there at first; killed after a checkpoint with work after it
    path = tmp_path / "in.jsonl"
    half = len(lines) // 2
    path.write_text("\n".join(lines[:half]) + "\n")
    ck = tmp_path / "ck"
    p2 = Proxy(alertmanager.url)
    try:
        args = [
            str(path),
            "--alerts",
            str(tmp_path / "a.jsonl"),
            "--dead-letter",
            str(tmp_path / "dl.jsonl"),
            "--checkpoint",
            str(ck),
            "--checkpoint-every",
            "1000",
            "--checkpoint-interval",
            "3600",
            "--alertmanager",
            p2.url,
            "--batch-size",
            "250",
            *policy,
        ]
        proc = subprocess.Popen(
            sead_cmd("watch", *args, "--follow", "--poll-interval", "0.05"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            assert _wait(lambda: _checkpoint_line(ck) >= 3000), "no checkpoint"
            # everything available read and written, more than the checkpoint holds
            assert _wait(
                lambda: (
                    (tmp_path / "a.jsonl").exists()
                    and _checkpoint_line(ck) < half - 100
                    and proc.poll() is None
                )
            )
            time.sleep(1.0)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        ck_line = _checkpoint_line(ck)
        assert 0 < ck_line < half
        with open(path, "a") as fh:
            fh.write("\n".join(lines[half:]) + "\n")
        r = subprocess.run(
            sead_cmd("watch", *args, "--resume"), capture_output=True, text=True, timeout=120
        )
        assert r.returncode == 0, r.stderr
        assert "resuming from checkpoint" in r.stderr
        got_posts = posted(p2)
    finally:
        p2.close()
    assert (tmp_path / "a.jsonl").read_bytes() == want
    assert (tmp_path / "dl.jsonl").read_bytes().replace(b"in.jsonl", b"full.jsonl") == (
        tmp_path / "dl_full.jsonl"
    ).read_bytes()
    assert got_posts == want_posts


def test_sigterm_checkpoints_and_exits_0_and_sigint_130(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(_stream_lines(5, 200)) + "\n")
    for sig, code in ((signal.SIGTERM, 0), (signal.SIGINT, 130)):
        ck = tmp_path / f"ck{code}"
        proc = subprocess.Popen(
            sead_cmd(
                "watch",
                str(path),
                "--follow",
                "--checkpoint",
                str(ck),
                "--alerts",
                str(tmp_path / f"a{code}.jsonl"),
                "--poll-interval",
                "0.05",
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert _wait(lambda code=code: (tmp_path / f"a{code}.jsonl").exists())
            time.sleep(1.5)
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == code, err
        assert _checkpoint_line(ck) == 1000


# ------------------------------------------------------------------------------------- Alertmanager


def test_alerts_reach_a_real_alertmanager(tmp_path, alertmanager):
    status, out, err = run_watch(
        tmp_path,
        demo=True,
        demo_agents=6,
        demo_steps=300,
        alertmanager=alertmanager.url,
        alertmanager_labels={"team": "agents"},
    )
    assert status == 0, err
    ev = events_of(out)
    firing = {e["key"] for e in ev if e["event"] == "alert"} - {
        e["key"] for e in ev if e["event"] == "resolved"
    }
    assert {e["key"] for e in ev if e["event"] == "alert"}
    got = alertmanager.wait_for(lambda a: len(a) >= len(firing), timeout=10)
    assert {a["labels"]["key"] for a in got} >= firing
    assert all(a["labels"]["team"] == "agents" for a in got)
    assert "Alertmanager:" in err and "sent" in err


# ------------------------------------------------------------------------------------------ OTLP


def _otlp_file(path):
    if os.environ.get("CI"):
        import opentelemetry.sdk  # noqa: F401  (CI must have it: fail, do not skip)
    else:
        pytest.importorskip(
            "opentelemetry.sdk",
            reason="install with: pip install 'sead[telemetry]' opentelemetry-sdk "
            "opentelemetry-exporter-otlp-proto-common",
        )
    from ._otlp_data import SDKServices

    svc = SDKServices(("checkout", "cart"), exponential=("rpc.size",))
    lines = []
    hist = {s: svc.meter(s).create_histogram("http.server.duration") for s in ("checkout", "cart")}
    reqs = {s: svc.meter(s).create_counter("requests") for s in ("checkout", "cart")}
    size = svc.meter("checkout").create_histogram("rpc.size")
    for i in range(150):
        for s in ("checkout", "cart"):
            for _ in range(5):
                hist[s].record(
                    0.1 + 0.01 * (i % 7) + (5.0 if s == "cart" and 120 <= i < 130 else 0.0),
                    {"route": "/pay"},
                )
            reqs[s].add(3 + i % 2, {"route": "/pay"})
        size.record(10)
        lines.append(svc.collect_line())
    svc.shutdown()
    path.write_text("\n".join(lines) + "\n" + "{broken\n")
    return path


def test_otlp_metrics_from_the_sdk(tmp_path):
    path = _otlp_file(tmp_path / "metrics.jsonl")
    status, out, err = run_watch(
        tmp_path, input=str(path), format="otlp", policy={"warmup": 30, "window": 100, "q": 0.95}
    )
    assert status == 0, err
    assert re.search(r"metrics\.jsonl:1: otlp_unsupported_type: .*exponential_histogram", err)
    assert "metrics.jsonl:151: bad_line" in err
    ev = events_of(out)
    keys = {e["key"] for e in ev}
    assert keys <= {
        "checkout/http.server.duration{route=/pay}",
        "cart/http.server.duration{route=/pay}",
        "checkout/requests{route=/pay}",
        "cart/requests{route=/pay}",
    }
    assert any(e["key"].startswith("cart/http") and e["event"] == "alert" for e in ev)
    assert "4 keys" in err


# ------------------------------------------------------------------------------ demo, quality, docs


def test_demo_shows_alerts_and_the_quality_table():
    r = subprocess.run(
        sead_cmd("watch", "--demo", "--demo-agents", "8", "--demo-steps", "300", "--no-progress"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert events_of(r.stdout)
    assert "incident kind" in r.stderr and "latency_spike" in r.stderr


def test_alert_quality_counts_hits_within_the_grace_and_false_alerts():
    d = agent_telemetry(n_agents=4, steps=200, seed=0)
    inc = d.incidents.iloc[0]
    ts = d.records.loc[d.records.agent == inc.agent, "ts"].to_numpy()
    e_after = ts[ts > inc.end_ts][2]  # the 3rd step after the end: still within the grace
    ev = [
        {"event": "alert", "key": inc.agent, "ts": float(e_after)},
        {"event": "alert", "key": inc.agent, "ts": float(ts[1])},  # long before: false
        {"event": "resolved", "key": inc.agent, "ts": float(ts[2])},
    ]
    q = alert_quality(d, ev)
    assert q["incidents"]["detected"].tolist()[0]
    assert q["incidents"]["delay_steps"].tolist()[0] == inc.n_records + 2
    assert q["alerts"] == 2 and q["false_alerts"] == 1 and q["precision"] == 0.5
    late = [{"event": "alert", "key": inc.agent, "ts": float(ts[ts > inc.end_ts][3])}]
    assert not alert_quality(d, late)["incidents"]["detected"].tolist()[0]


def _doc_commands():
    text = (ROOT / "docs" / "telemetry.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    return [ln.strip()[2:] for b in blocks for ln in b.splitlines() if ln.strip().startswith("$ ")]


def test_the_walkthrough_commands_run(tmp_path):
    cmds = _doc_commands()
    assert len(cmds) >= 5
    bindir = os.path.dirname(sys.executable)  # the environment's python and sead
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    for cmd in cmds:
        # shortened: fewer agents and steps than the walkthrough
        short = cmd.replace("n_agents=20", "n_agents=5").replace("steps=600", "steps=250")
        short = short.replace("--demo ", "--demo --demo-agents 5 --demo-steps 250 ")
        r = subprocess.run(
            ["bash", "-c", short],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert r.returncode == 0, f"{short}\n{r.stderr}"
    assert (tmp_path / "alerts.jsonl").exists() and (tmp_path / "ckpt" / "CURRENT").exists()


def test_the_status_line_with_progress(tmp_path):
    data_file(tmp_path / "in.jsonl", n_agents=3, steps=200)
    status, _, err = run_watch(tmp_path, input=str(tmp_path / "in.jsonl"), progress=True)
    assert status == 0
    assert "\r" in err and re.search(
        r"600 records \([\d,]+/s\), 3 keys, \d+ alerts, \d+ firing, 0 problems", err
    )


def test_otlp_resume_continues_the_differencing_exactly(tmp_path):
    path = _otlp_file(tmp_path / "all.jsonl")
    lines = path.read_text().splitlines(keepends=True)
    opts = dict(format="otlp", policy={"warmup": 30, "window": 100, "q": 0.95}, quiet=True)
    assert (
        run_watch(tmp_path, input=str(path), alerts=str(tmp_path / "whole.jsonl"), **opts)[0] == 0
    )
    part = tmp_path / "part.jsonl"
    part.write_text("".join(lines[:80]))
    kw = dict(
        input=str(part),
        alerts=str(tmp_path / "resumed.jsonl"),
        checkpoint=str(tmp_path / "ck"),
        **opts,
    )
    assert run_watch(tmp_path, **kw)[0] == 0
    with open(part, "a") as fh:
        fh.write("".join(lines[80:]))
    assert run_watch(tmp_path, resume=True, **kw)[0] == 0
    whole = (tmp_path / "whole.jsonl").read_bytes()
    assert whole and (tmp_path / "resumed.jsonl").read_bytes() == whole


def test_detect_mode_resumes_exactly_and_is_a_policy_option(tmp_path):
    import argparse

    p = argparse.ArgumentParser()
    watch.add_arguments(p)
    assert watch.options_from_args(p.parse_args(["x.jsonl", "--mode", "detect"])).policy == {
        "mode": "detect"
    }
    d = agent_telemetry(n_agents=4, steps=300, seed=1)
    recs = d.records.drop(columns=["label", "incident"]).to_dict("records")
    lines = [json.dumps(r) for r in recs]
    pol = {"mode": "detect", "warmup": 40}
    (tmp_path / "all.jsonl").write_text("\n".join(lines) + "\n")
    kw = dict(policy=pol, alerts=str(tmp_path / "whole.jsonl"))
    assert run_watch(tmp_path, input=str(tmp_path / "all.jsonl"), **kw)[0] == 0
    whole = (tmp_path / "whole.jsonl").read_bytes()
    assert b'"ensemble_score"' in whole
    split_ts = recs[700]["ts"]
    assert any(e["event"] == "alert" and e["ts"] >= split_ts for e in events_of(whole.decode()))
    # the same input in two runs, the second resuming from the first's checkpoint
    f = tmp_path / "grow.jsonl"
    f.write_text("\n".join(lines[:700]) + "\n")
    kw = dict(policy=pol, alerts=str(tmp_path / "two.jsonl"), checkpoint=str(tmp_path / "ck"))
    assert run_watch(tmp_path, input=str(f), **kw)[0] == 0
    with f.open("a") as fh:
        fh.write("\n".join(lines[700:]) + "\n")
    assert run_watch(tmp_path, input=str(f), resume=True, **kw)[0] == 0
    assert (tmp_path / "two.jsonl").read_bytes() == whole
    # the mode is part of the policy a resume must match
    status, _, err = run_watch(tmp_path, input=str(f), resume=True, **{**kw, "policy": {}})
    assert status == 2 and "policy" in err


def test_alert_quality_over_seeds_pools_the_seeds():
    """Two seeds together are the two seeds' incidents and alerts added up; the per-kind table
    is alert_quality's with a precision column in [0, 1]; the nominal rate is the policy's."""
    from sead.telemetry import AlertPolicy
    from sead.telemetry.watch import alert_quality_over_seeds, nominal_alert_rate

    alone = [alert_quality_over_seeds([s]) for s in (0, 1)]
    both = alert_quality_over_seeds([0, 1])
    for k in ("alerts", "false_alerts", "clean_rows", "clean_alerts"):
        assert both[k] == alone[0][k] + alone[1][k], k
    assert len(both["incidents"]) == len(alone[0]["incidents"]) + len(alone[1]["incidents"])
    assert both["recall"] == both["incidents"]["detected"].mean()
    assert both["precision"] == (both["alerts"] - both["false_alerts"]) / both["alerts"]
    table = both["per_kind"]
    assert list(table.columns) == [
        "incidents",
        "detected",
        "recall",
        "median_delay_steps",
        "median_delay_s",
        "precision",
    ]
    assert table["incidents"].sum() == len(both["incidents"])
    p = table["precision"].dropna()
    assert len(p) and ((p >= 0) & (p <= 1)).all()
    assert both["nominal"] == nominal_alert_rate(AlertPolicy())
