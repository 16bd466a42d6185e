"""`rasa data validate` passes with no warning at all (not even the ones
--fail-on-warnings lets through, such as story-reader warnings)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


# Responses the custom actions utter by name (actions/answers.py: the FAQ answers and the
# follow-ups), which the validator cannot see in stories. Nothing else may be unused.
UTTERED_BY_ACTIONS = re.compile(
    r"The utterance '(utter_faq|utter_followup_[a-z_]+_(materials|cost|time))' is not used")


def test_rasa_data_validate_has_no_warnings(project_root: Path) -> None:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    proc = subprocess.run([sys.executable, "-m", "rasa", "data", "validate", "--fail-on-warnings"],
                          cwd=project_root, capture_output=True, text=True, env=env, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    problems = [line for line in output.splitlines()
                if ("UserWarning" in line or " WARNING " in line or "Issue found" in line)
                and not UTTERED_BY_ACTIONS.search(line)]
    assert not problems, "\n".join(problems)
