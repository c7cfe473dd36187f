"""Font embedding is fast only with HarfBuzz subsetting (fontTools took ~7 s on the annex)."""

from __future__ import annotations

import logging

from weasyprint.text import ffi

from tenken.report.render import render_pdf


def test_weasyprint_subsets_fonts_with_harfbuzz(caplog):
    assert ffi.harfbuzz_subset is not None, "install libharfbuzz-subset0 (Makefile DEBIAN_PACKAGES)"
    assert ffi.harfbuzz.hb_version_atleast(4, 1, 0)
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        render_pdf('<html lang="ja"><body><p>神奈川県</p></body></html>')
    assert not [r for r in caplog.records if "fontTools" in r.getMessage()]
