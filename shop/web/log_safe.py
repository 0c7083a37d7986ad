"""Request paths as they may be written into a log line.

The path a server hands the app is percent-decoded: a %0A in it would end the
log line and start a forged one, a %00 would write a NUL. Logs get it encoded again.
"""

from __future__ import annotations

from urllib.parse import quote

# RFC 3986 path characters stay as they are; "%" does not, so "%0A" in a log line always
# means a newline was sent, and "%250A" that "%0A" was.
_PATH_CHARACTERS = "/!$&'()*+,;=:@"


def loggable_path(path: str) -> str:
    return quote(path, safe=_PATH_CHARACTERS)
