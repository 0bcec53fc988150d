"""The playground's k-parameter jet family: offered, drawn, trained live on a tiny family, and
its D1 shown against the scales it was asked for."""

from __future__ import annotations

import json

from tests.support_apptest import app_test, chart, charts


def _family_page(monkeypatch, tmp_path):
    monkeypatch.setenv("JETVIZ_VAE_ROOT", str(tmp_path))
    at = app_test(monkeypatch, timeout=180)
    at.switch_page("views/playground.py").run()
    at.radio(key="playground_family").set_value("family").run()
    return at


def test_the_family_is_offered_with_its_scales_and_end_jets(monkeypatch, tmp_path):
    at = _family_page(monkeypatch, tmp_path)
    assert not at.exception, at.exception
    scales = {n.key: n.value for n in at.number_input if n.key.startswith("playground_family_")}
    assert scales == {"playground_family_separation": 90.0, "playground_family_sharing": 3.0,
                      "playground_family_split": 0.1, "playground_family_n": 10_000}
    panels = chart(at, "playground_family_jets")
    assert len(panels["layout"]["images"]) == 6  # 3 parameters × the two ends of each range
    assert any("12-minute default" in c.value for c in at.caption)
    assert not at.get("slider")  # the latent size is the jets' own, 3P − 4
    at.radio(key="playground_family_k").set_value(1).run()
    assert [n.key for n in at.number_input if n.key.startswith("playground_family_")] == [
        "playground_family_separation", "playground_family_n"]
    assert len(chart(at, "playground_family_jets")["layout"]["images"]) == 2


def test_a_tiny_family_trains_and_d1_is_drawn_against_its_scales(monkeypatch, tmp_path):
    at = _family_page(monkeypatch, tmp_path)
    at.number_input(key="playground_family_n").set_value(1000)
    at.select_slider(key="playground_minutes").set_value(0.1)
    at.button(key="playground_train").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    d1 = next(v for k, v in charts(at).items() if k.endswith("playground_dimensionality"))
    names = [t.get("name", "") for t in d1["data"]]
    for line in ("separation = 90 GeV", "sharing = 3 GeV", "split = 0.1 GeV"):
        assert line in names
    assert at.dataframe  # each window's median D1 against the expected count
    assert any("generate family --scales separation=90 sharing=3 split=0.1 --jets 1000 --seed 11"
               in c.value for c in at.code)
    assert not at.text_input  # a family model is kept from the command line, not saved here



def _fake_vae(directory):
    """A directory the checkpoint registry lists as a β-VAE (only its config.json is read)."""
    directory.mkdir(parents=True)
    (directory / "config.json").write_text(json.dumps({"format": "jetviz", "version": 2,
                                                       "kind": "vae"}))


def test_ready_trained_examples_are_listed_only_when_present(monkeypatch, tmp_path):
    monkeypatch.setenv("JETVIZ_VAE_ROOT", str(tmp_path))
    at = app_test(monkeypatch, timeout=60)
    at.switch_page("views/playground.py").run()
    assert not any("Ready-trained" in c.value for c in at.caption)  # none: no line, no error
    for name in ("vae_strip", "vae_family", "user/vae_ribbon"):  # a user's copy is not one
        _fake_vae(tmp_path / name)
    at.run()
    assert not at.exception, at.exception
    listed = [c.value for c in at.caption if "Ready-trained" in c.value]
    assert listed and listed[0].endswith(": vae_strip, vae_family.")


def test_a_scale_its_parameter_cannot_spread_is_refused_with_the_largest(monkeypatch, tmp_path):
    at = _family_page(monkeypatch, tmp_path)
    at.number_input(key="playground_family_separation").set_value(400.0).run()
    assert not at.exception, at.exception
    assert any("separation 400 GeV (at most ≈ 341)" in e.value for e in at.error)
    assert at.button(key="playground_train").disabled
