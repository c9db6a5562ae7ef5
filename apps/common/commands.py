"""What management commands share: reading a JSON document named on the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError


def read_json_argument(file: str) -> Any:
    """The JSON document in `file` (`-`: standard input). A file that cannot be read, is not UTF-8
    or is not JSON is a CommandError with one sentence naming it, never a traceback."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as error:
        raise CommandError(f"{file}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{file}: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(
            f"{file}: malformed JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise CommandError(f"{file}: JSON nested too deeply") from None
