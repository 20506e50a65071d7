"""User strings (labels, file names, metadata) shown by Qt as typed, never read as HTML.

Qt decides per string whether a tooltip is rich text (``Qt.mightBeRichText``): a class called ``<b>cat</b>``
would show as a bold "cat", and ``<img src=...>`` would try to load a picture. A tooltip cannot be told to be
plain text, so its text is escaped instead.
"""
from __future__ import annotations

import html


def plain_tooltip(text: str) -> str:
    """Tooltip markup that displays ``text`` exactly, line breaks and spaces kept."""
    return "<p style='white-space:pre-wrap'>" + html.escape(text, quote=False) + "</p>" if text else ""
