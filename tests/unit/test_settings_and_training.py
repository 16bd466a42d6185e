from pathlib import Path

import pytest

from bot.training import current_model_path, fingerprint, training_inputs
from core.settings import Settings


def test_settings_defaults_are_embedded(tmp_path: Path) -> None:
    s = Settings.from_env(env={}, project_dir=tmp_path)
    assert s.database_url == f"sqlite:///{tmp_path / 'var' / 'cloud_doctor.db'}"
    assert s.port == 5005 and s.action_port == 5055
    assert s.bot_names == ("云博士",)


def test_settings_read_env_and_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# sample\nDATABASE_URL=postgresql://x/db\nPORT=6000\n")
    s = Settings.from_env(env={"PORT": "7000", "BOT_NAMES": "云博士, 小工"}, project_dir=tmp_path)
    assert s.database_url == "postgresql://x/db"
    assert s.port == 7000
    assert s.bot_names == ("云博士", "小工")


def test_settings_reject_bad_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PORT"):
        Settings.from_env(env={"PORT": "abc"}, project_dir=tmp_path)
    (tmp_path / ".env").write_text("NOEQUALS\n")
    with pytest.raises(ValueError, match=r"\.env:1"):
        Settings.from_env(env={}, project_dir=tmp_path)


def _project(tmp_path: Path) -> Path:
    for rel in ["config.yml", "domain.yml", "data/nlu/a.yml", "bot/nlu.py", "core/normalize.py"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    return tmp_path


def test_model_name_changes_exactly_when_inputs_change(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = current_model_path(project, project / "models")
    assert first == current_model_path(project, project / "models")
    (project / "data" / "nlu" / "a.yml").write_text("changed")
    second = current_model_path(project, project / "models")
    assert second != first
    (project / "data" / "dict.txt").write_text("new dictionary")
    assert current_model_path(project, project / "models") != second


def test_fingerprint_covers_normaliser_code(tmp_path: Path) -> None:
    project = _project(tmp_path)
    before = fingerprint(project, training_inputs(project))
    (project / "core" / "normalize.py").write_text("changed")
    assert fingerprint(project, training_inputs(project)) != before


def test_the_holiday_calendar_is_not_a_training_input(tmp_path: Path) -> None:
    project = _project(tmp_path)
    before = fingerprint(project, training_inputs(project))
    (project / "data" / "calendar").mkdir(parents=True, exist_ok=True)
    (project / "data" / "calendar" / "holidays.yml").write_text("2027: {}")
    assert fingerprint(project, training_inputs(project)) == before
