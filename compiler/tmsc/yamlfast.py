"""PyYAML, imported and run the fast way wherever that reads a spec exactly as the pure-Python way does.

Two costs of every `tmsc compile` were PyYAML's, and bought nothing:

- Importing it compiles the pure-Python reader's NON_PRINTABLE character
  class, which spans every code point: 57 M instructions, 6% of a whole
  compile. `import yaml` here runs with that one pattern's compilation
  deferred to its first use, which only the pure-Python reader makes.
- Composing the example spec in pure Python took 4-8 ms; libyaml (PyYAML's
  CSafeLoader) composes the same nodes in 0.3 ms.

`c_loader(text)` is libyaml's loader when PyYAML has it and the text holds
only characters the pure-Python reader accepts, None otherwise; it gives
plain scalars the pure-Python style (None, where libyaml says ''), and the
same Python constructor and resolver read them. tmsc.load keeps what it reads
only when the spec is read without an error: on any error it reads the spec
again with the pure-Python loader, so every diagnostic is worded and located
as it always was.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

# yaml.reader.Reader.NON_PRINTABLE, as PyYAML (5.1 to 6.x) writes it.
READER_NON_PRINTABLE = "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
# The same characters, as the short class of what the reader refuses: C0 controls but tab, LF
# and CR; DEL and the C1 controls but NEL; surrogates; U+FFFE and U+FFFF. Compiles in 1/12 the time.
REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


class _Deferred:
    """A regular expression compiled on first use."""

    def __init__(self, compile: Callable[[str, int], re.Pattern[str]], pattern: str, flags: int):
        self._compile = compile
        self._source = (pattern, flags)
        self._pattern: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        if self._pattern is None:
            self._pattern = self._compile(*self._source)
        return getattr(self._pattern, name)


@contextlib.contextmanager
def deferred_reader_pattern() -> Iterator[None]:
    """Within: re.compile(READER_NON_PRINTABLE) returns a pattern compiled on first use; every other call is re.compile's."""
    real = re.compile

    def compile(pattern: Any, flags: Any = 0) -> Any:
        if pattern == READER_NON_PRINTABLE and flags == 0:
            return _Deferred(real, pattern, flags)
        return real(pattern, flags)

    re.compile = compile
    try:
        yield
    finally:
        re.compile = real


with deferred_reader_pattern():
    import yaml

__all__ = ["c_loader", "yaml"]


class _CSafeLoader(yaml.CSafeLoader):
    def get_single_node(self) -> Any:
        node = super().get_single_node()
        # libyaml marks a plain scalar with the style '', the pure-Python composer with None.
        stack, seen = ([node] if node is not None else []), set()
        while stack:
            current = stack.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            if isinstance(current, yaml.ScalarNode):
                if current.style == "":
                    current.style = None
            elif isinstance(current, yaml.SequenceNode):
                stack.extend(current.value)
            elif isinstance(current, yaml.MappingNode):
                for key, value in current.value:
                    stack += (key, value)
        return node


def c_loader(text: str) -> Any | None:
    """libyaml's safe loader over text, or None when PyYAML lacks libyaml or text holds a character YAML refuses."""
    if not getattr(yaml, "__with_libyaml__", False) or REFUSED.search(text):
        return None
    return _CSafeLoader(text)
