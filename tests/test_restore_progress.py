"""The restore bar tells the truth: its total follows the stopping rule's estimate of the stop, it ends at
100 % at the actual stop, and with a reference it shows the PSNR of the current output."""
from __future__ import annotations

import io
import re
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from genlab.dip.monitor import Average, ProgressBar, TimeBudget


def _rule(best=0, patience=50, signal=None):
    inner = SimpleNamespace(name="wmv", signal_=signal, best_step_=best, patience=patience)
    return SimpleNamespace(rule=inner, best_=(best, None))


def test_bar_total_follows_the_rules_estimate_and_shows_the_psnr_of_the_unpadded_average():
    ref = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    avg = Average()
    avg.x_avg_ = torch.full((1, 1, 10, 12), 5.0)      # the padding is far off: scoring it would show ~-14 dB
    avg.x_avg_[..., :8, :8] = ref + 0.1               # MSE 0.01 -> 20 dB exactly
    rule, buf = _rule(), io.StringIO()
    bar = ProgressBar(200, "t", rule, reference=ref, average=avg, psnr_every=10, file=buf)
    totals = {}
    for s in range(1, 76):
        if s == 30:   # the rule scores for the first time: a best at step 30
            rule.rule.signal_, rule.rule.best_step_, rule.best_ = 0.5, 30, (30, None)
        if s == 45:   # a new best moves the estimate on
            rule.rule.signal_, rule.rule.best_step_, rule.best_ = 0.25, 45, (45, None)
        bar(SimpleNamespace(step=s, history=None))
        totals[s] = bar._bar.total
    assert (totals[1], totals[29], totals[30], totals[44], totals[45], totals[75]) == (50, 50, 80, 80, 95, 95)
    assert bar._bar.n == 75
    post = bar._bar.postfix
    assert "best=45" in post and "wmv=0.25" in post
    assert float(re.search(r"psnr=([-\d.]+)", post).group(1)) == pytest.approx(20.0, abs=0.01)
    bar.finish(76)    # the rule stopped at 76, before the bar saw that step
    bar.close()
    assert bar._bar.total == bar._bar.n == 76
    assert re.search(r"100%.*76/76.*psnr=20\.00", buf.getvalue())


def test_bar_total_is_capped_by_the_iterations_and_the_time_budget_and_never_below_the_step():
    budget = TimeBudget(10.0)
    bar = ProgressBar(300, "t", _rule(best=100, patience=500), budget=budget, file=io.StringIO())
    assert bar.estimate(150) == 300                  # best + patience = 600 is past the cap
    budget.elapsed_ = 2.0                            # 40 steps in 2 s of a 10 s budget: about 200 steps
    assert bar.estimate(40) == 200
    budget.elapsed_ = 9.99
    assert bar.estimate(250) == 251                  # the pace says 250.25: never below the step reached
    assert ProgressBar(300, "t", _rule(best=10, patience=20), file=io.StringIO()).estimate(35) == 35
    bar.close()
    with pytest.raises(ValueError, match="Average"):
        ProgressBar(10, reference=torch.zeros(1, 1, 2, 2), file=io.StringIO())


class _TTY(io.StringIO):
    def isatty(self):
        return True


def test_restore_with_a_reference_shows_the_psnr_live_and_ends_at_100_percent_when_it_stops_early(
        tmp_path, monkeypatch, capsys):
    from genlab.cli import main
    from genlab.data.images import load_image, save_image
    from genlab.physics import GaussianNoise
    clean = (np.clip(load_image("chelsea", size=32)[:24, :32], 0, 1) * 255 + 0.5).astype(np.uint8) / 255.0
    save_image(clean, tmp_path / "clean.png")
    save_image(GaussianNoise(25 / 255).corrupt(clean, np.random.default_rng(0)), tmp_path / "noisy.png")
    err = _TTY()
    monkeypatch.setattr(sys, "stderr", err)       # restore draws a bar only on a terminal
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    rc = main(["restore", str(tmp_path / "noisy.png"), "-o", str(tmp_path / "out.png"), "--task", "denoise",
               "--max-iters", "2000", "--stop", "heldout", "--patience", "40", "--net", "small", "--threads", "1",
               "--reference", str(tmp_path / "clean.png")])
    assert rc == 0
    done = int(re.search(r": (\d+) iterations", capsys.readouterr().out).group(1))
    assert done < 1000, f"the rule should stop well before the cap; it ran {done} steps"
    text = err.getvalue()
    assert re.search(rf"100%[^\r\n]*{done}/{done}[^\r\n]*psnr=\d+\.\d\d", text), text[-400:]
    assert "/2000" not in text                     # the cap is never the bar's total here: the estimate is


def test_windows_one_by_one_each_show_their_own_psnr(tmp_path, monkeypatch, capsys):
    from genlab.cli import main
    from genlab.data.images import load_image, save_image
    from genlab.physics import GaussianNoise
    clean = (np.clip(load_image("chelsea", size=100)[:40, :100], 0, 1) * 255 + 0.5).astype(np.uint8) / 255.0
    save_image(clean, tmp_path / "clean.png")
    save_image(GaussianNoise(25 / 255).corrupt(clean, np.random.default_rng(1)), tmp_path / "noisy.png")
    err = _TTY()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert main(["restore", str(tmp_path / "noisy.png"), "-o", str(tmp_path / "o.png"), "--max-iters", "20",
                 "--tile", "64", "--net", "small", "--threads", "1", "--reference", str(tmp_path / "clean.png")]) == 0
    ends = re.findall(r"(window \d/\d): 100%[^\r\n]*?(\d+)/\2[^\r\n]*psnr=\d+\.\d\d", err.getvalue())
    assert {w for w, _ in ends} == {"window 1/2", "window 2/2"}, err.getvalue()[-600:]
