"""core.logging: JSON lines for machines, one object per record, request id included."""

from __future__ import annotations

import json
import logging
import sys

from tsunagu.core.logging import JsonLineFormatter, TextFormatter, configure_logging, request_id_var


def make_record(message: str = "served", **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("tsunagu.test", logging.INFO, __file__, 1, message, None, None)
    record.__dict__.update(extra)
    return record


class TestJsonLineFormatter:
    def test_record_is_one_json_line_with_its_extra_fields(self) -> None:
        line = JsonLineFormatter().format(make_record("GET /x 200", status=200, path="/x"))
        assert "\n" not in line
        entry = json.loads(line)
        assert entry["message"] == "GET /x 200"
        assert entry["level"] == "INFO"
        assert entry["logger"] == "tsunagu.test"
        assert (entry["status"], entry["path"]) == (200, "/x")

    def test_current_request_id_is_included(self) -> None:
        token = request_id_var.set("req-42")
        try:
            entry = json.loads(JsonLineFormatter().format(make_record()))
        finally:
            request_id_var.reset(token)
        assert entry["request_id"] == "req-42"

    def test_exception_is_kept_on_the_same_line(self) -> None:
        try:
            raise ValueError("boom")
        except ValueError:
            record = logging.LogRecord(
                "tsunagu.test", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
            )
        line = JsonLineFormatter().format(record)
        assert "\n" not in line
        assert "ValueError: boom" in json.loads(line)["exc_info"]


class TestTextFormatter:
    def test_extra_fields_follow_the_message(self) -> None:
        line = TextFormatter().format(make_record("GET /x 200", status=200))
        assert "GET /x 200" in line
        assert "status=200" in line


class TestConfigureLogging:
    def test_configuring_twice_installs_one_handler(self) -> None:
        root = logging.getLogger()
        before, level = list(root.handlers), root.level
        try:
            first = configure_logging("INFO")
            second = configure_logging("WARNING", json_lines=False)
            assert first not in root.handlers
            assert second in root.handlers
            assert root.level == logging.WARNING
        finally:
            root.removeHandler(second)
            root.setLevel(level)
            for handler in before:
                if handler not in root.handlers:
                    root.addHandler(handler)
