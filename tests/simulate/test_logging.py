"""A simulation sets the log level and stream after plugins are imported;
the metrics scraper's lines must follow it (they once went to stdout at
info level, into ``shoal simulate -o json``)."""

from __future__ import annotations

import io

from shoal import log
from shoal.plugins.metrics import scraper


def test_the_scraper_logs_follow_a_later_configure() -> None:
    stream = io.StringIO()
    try:
        log.configure("test", json=True, level="error", stream=stream)
        scraper.log.info("node not scraped", node="n")
        assert stream.getvalue() == ""
        scraper.log.error("scrape broke", node="n")
        assert "scrape broke" in stream.getvalue()
    finally:
        log.configure("test", json=False, level="info")
