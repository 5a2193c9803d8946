from django.http import Http404

MAX_ID = 2**63 - 1  # the largest primary key a database holds


def object_id(pk) -> int:
    """An id from a URL as a number, or 404: ASCII digits of a size a database holds, so "abc", "1e3",
    "٣" or 2**70 are "no such thing" rather than an error (or another row)."""
    text = str(pk)
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
        raise Http404("No such id.")
    return int(text)
