"""The report as one self-contained HTML file: the page's data, style, Chart.js and its own script all inline.

The charting library is Chart.js 4 (`assets/chart.umd.min.js`, vendored as published on the npm registry, MIT, its
licence beside it), chosen for size: 208 KB minified against ~4.6 MB for plotly.min.js and ~800 KB for
vega + vega-lite + vega-embed, and it draws every chart here (bars, stacked and horizontal, lines, two axes) with no
plugin; uPlot (50 KB) is smaller but a time-series library with no bar or category charts of its own. No pip package
ships a current Chart.js, so the file is vendored as package data.

The page carries a Content-Security-Policy that allows only its two inline scripts (by their sha256) and inline
styles, and no connection, image, font or frame source: whatever a script might try, the page cannot reach the
network. The source map comment of the minified library is dropped, so devtools do not look for the map either.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from importlib import resources
from typing import Any

import factory

CHART_JS_VERSION = "4.6.2"


def _asset(name: str) -> str:
    return resources.files("factory.output.report").joinpath("assets", name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def json_for_script(data: Any) -> str:
    """JSON safe inside a <script> element: `<` is escaped, so no value can close the element or open a comment."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).replace("<", "\\u003c")


def render(data: dict[str, Any]) -> str:
    """The whole page for `data` (from `report.data.collect`)."""
    chart_js = re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", _asset("chart.umd.min.js"))
    report_js = _asset("report.js")
    csp = ("default-src 'none'; script-src " + _sha256(chart_js) + " " + _sha256(report_js)
           + "; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'")
    title = f"Run report: {data['run'].get('recipe') or data['run'].get('folder')}"
    values = {"CSP": csp, "TITLE": html.escape(title), "STYLE": _asset("report.css"), "DATA": json_for_script(data),
              "CHART_JS": chart_js, "REPORT_JS": report_js, "VERSION": html.escape(factory.__version__),
              "CHART_VERSION": CHART_JS_VERSION}
    # One pass: a value holding "{{...}}" (a trace can hold anything) is never substituted again.
    return re.sub(r"\{\{([A-Z_]+)\}\}", lambda m: values[m.group(1)], _asset("template.html"))
