"""The playground's "Save model": the run lands in user/<name>, once, and is listed as yours."""

from __future__ import annotations

from tests.support_apptest import app_test


def test_a_playground_model_is_saved_once_and_listed(monkeypatch, tmp_path):
    monkeypatch.setenv("JETVIZ_VAE_ROOT", str(tmp_path))
    at = app_test(monkeypatch, timeout=120)
    at.switch_page("views/playground.py").run()
    at.number_input(key="playground_n").set_value(1000)
    at.select_slider(key="playground_minutes").set_value(0.1)
    at.button(key="playground_train").click().run()
    at.text_input(key="playground_name").set_value("strip_run")
    at.button(key="playground_save").click().run()
    assert not at.exception, at.exception
    assert any("Saved to" in s.value for s in at.success)
    from jetviz.vae.saving import list_models

    assert [m.label for m in list_models()] == ["strip_run (yours)"]
    assert sorted(p.name for p in (tmp_path / "user").iterdir()) == ["strip_run"]  # no staging
    at.button(key="playground_save").click().run()  # the same name again
    assert any("already exists" in e.value for e in at.error)
