"""A small reader of the Alloy configuration syntax: blocks, attributes and the references between them.

The ``alloy`` binary cannot run on the build machine, so the rendered ``config.alloy`` is checked
here instead: this reader understands exactly as much of the syntax as those checks need
(blocks with optional string labels, attributes, literals, arrays, objects, references, function
calls and operators) and reports a line number with every syntax error. It is not a replacement
for ``alloy validate``, which the role still runs wherever the binary exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from obsctl.errors import ObsError


class AlloySyntaxError(ObsError):
    """The text is not valid Alloy syntax (unbalanced braces, a stray token, an open string)."""


@dataclass(frozen=True)
class Token:
    kind: str  # ident, string, number, punct, op
    text: str
    line: int


@dataclass
class Attribute:
    name: str
    value: object  # Python literal, list, dict, Reference or Expr
    line: int


@dataclass(frozen=True)
class Reference:
    """A dotted path used as a value, e.g. ``prometheus.remote_write.main.receiver``."""

    path: tuple[str, ...]
    line: int

    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass
class Expr:
    """Anything computed (a function call, an operator, an index): only its references matter here."""

    references: list[Reference]
    line: int
    calls: list[str] = field(default_factory=list)


@dataclass
class Block:
    name: str  # dotted, e.g. "prometheus.scrape" or "endpoint"
    label: str | None
    line: int
    attributes: list[Attribute] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)

    def attr(self, name: str) -> object:
        for item in self.attributes:
            if item.name == name:
                return item.value
        return None

    def children(self, name: str) -> list[Block]:
        return [b for b in self.blocks if b.name == name]

    def walk(self) -> list[Block]:
        out: list[Block] = [self]
        for child in self.blocks:
            out.extend(child.walk())
        return out


@dataclass
class Document:
    blocks: list[Block]
    attributes: list[Attribute]

    def components(self) -> list[Block]:
        """Top-level blocks with a label are components (``logging {}`` and friends are not)."""
        return [b for b in self.blocks if b.label is not None]


_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r]+)
  | (?P<nl>\n)
  | (?P<lcomment>//[^\n]*)
  | (?P<bcomment>/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%^<>!])
  | (?P<punct>[{}\[\]().,=:?])
    """,
    re.VERBOSE | re.DOTALL,
)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _unquote(text: str, line: int) -> str:
    body = text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        else:
            raise AlloySyntaxError(
                f"line {line}: unknown escape sequence '\\{nxt}' in string {text}",
                fix="write a literal backslash as '\\\\' (regular expressions need it doubled)",
            )
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    line = 1
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            snippet = text[pos : pos + 20].splitlines()[0] if text[pos:] else ""
            raise AlloySyntaxError(f"line {line}: unexpected character(s) {snippet!r}")
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "string":
            tokens.append(Token("string", _unquote(value, line), line))
        elif kind == "raw":
            tokens.append(Token("string", value[1:-1], line))
        elif kind in ("ident", "number", "op", "punct"):
            tokens.append(Token(kind, value, line))
        line += value.count("\n")
        pos = match.end()
    # An unterminated string or block comment never matches the patterns above and is reported
    # as an unexpected character, with its line.
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def next(self) -> Token:
        tok = self.peek()
        if tok is None:
            last = self.tokens[-1].line if self.tokens else 1
            raise AlloySyntaxError(f"line {last}: unexpected end of file (a block or list is not closed)")
        self.i += 1
        return tok

    def expect(self, text: str) -> Token:
        tok = self.next()
        if tok.text != text or tok.kind == "string":
            raise AlloySyntaxError(f"line {tok.line}: expected '{text}', found {tok.text!r}")
        return tok

    def body(self, closing: bool) -> tuple[list[Attribute], list[Block]]:
        attrs: list[Attribute] = []
        blocks: list[Block] = []
        while True:
            tok = self.peek()
            if tok is None:
                if closing:
                    self.next()  # raises "not closed"
                return attrs, blocks
            if tok.text == "}" and tok.kind == "punct":
                if not closing:
                    raise AlloySyntaxError(f"line {tok.line}: '}}' without a matching '{{'")
                self.next()
                return attrs, blocks
            if tok.kind != "ident":
                raise AlloySyntaxError(f"line {tok.line}: expected an attribute or block name, found {tok.text!r}")
            name_tok = self.next()
            parts = self.dotted_path(name_tok)
            nxt = self.peek()
            if nxt is not None and nxt.kind == "punct" and nxt.text == "=" and len(parts) == 1:
                self.next()
                attrs.append(Attribute(parts[0], self.expression(), name_tok.line))
                continue
            label: str | None = None
            if nxt is not None and nxt.kind == "string":
                label = self.next().text
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", label):
                    raise AlloySyntaxError(
                        f"line {nxt.line}: block label {label!r} must be an identifier (letters, digits, '_')"
                    )
            self.expect("{")
            block = Block(".".join(parts), label, name_tok.line)
            block.attributes, block.blocks = self.body(closing=True)
            blocks.append(block)

    def expression(self) -> object:
        start = self.peek()
        line = start.line if start else 0
        refs: list[Reference] = []
        calls: list[str] = []
        values: list[object] = []
        operators = 0
        while True:
            values.append(self.operand(refs, calls))
            tok = self.peek()
            if tok is not None and tok.kind == "op" and tok.text != "!":
                self.next()
                operators += 1
                continue
            if tok is not None and tok.kind == "punct" and tok.text == "?":
                raise AlloySyntaxError(f"line {tok.line}: the ternary operator is not part of the Alloy syntax")
            break
        if operators == 0 and not calls and len(values) == 1:
            return values[0]
        return Expr(refs, line, calls)

    def operand(self, refs: list[Reference], calls: list[str]) -> object:  # noqa: PLR0911 - one return per value kind
        tok = self.next()
        if tok.kind == "op" and tok.text in ("-", "!"):
            inner = self.operand(refs, calls)
            return Expr(_references_in(inner), tok.line, calls)
        if tok.kind == "string":
            return self.postfix(tok.text, refs, calls)
        if tok.kind == "number":
            return float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
        if tok.kind == "punct" and tok.text == "[":
            return self.postfix(self.list_literal(), refs, calls)
        if tok.kind == "punct" and tok.text == "{":
            return self.postfix(self.object_literal(), refs, calls)
        if tok.kind == "punct" and tok.text == "(":
            inner = self.expression()
            self.expect(")")
            return self.postfix(inner, refs, calls)
        if tok.kind == "ident":
            return self.name_or_call(tok, refs, calls)
        raise AlloySyntaxError(f"line {tok.line}: expected a value, found {tok.text!r}")

    def _at(self, text: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "punct" and tok.text == text

    def list_literal(self) -> list[object]:
        items: list[object] = []
        while True:
            if self._at("]"):
                self.next()
                return items
            items.append(self.expression())
            sep = self.next()
            if sep.text == "]":
                return items
            if sep.text != ",":
                raise AlloySyntaxError(f"line {sep.line}: expected ',' or ']' in a list, found {sep.text!r}")

    def object_literal(self) -> dict[str, object]:
        obj: dict[str, object] = {}
        while True:
            key_tok = self.next()
            if key_tok.text == "}" and key_tok.kind == "punct":
                return obj
            if key_tok.kind not in ("ident", "string"):
                raise AlloySyntaxError(f"line {key_tok.line}: expected an object key, found {key_tok.text!r}")
            self.expect("=")
            obj[key_tok.text] = self.expression()
            sep = self.next()
            if sep.text == "}":
                return obj
            if sep.text != ",":
                raise AlloySyntaxError(f"line {sep.line}: expected ',' or '}}' in an object, found {sep.text!r}")

    def dotted_path(self, first: Token) -> list[str]:
        path = [first.text]
        while self._at(".") and self.peek(1) is not None:
            self.next()
            part = self.next()
            if part.kind != "ident":
                raise AlloySyntaxError(f"line {part.line}: expected a name after '.', found {part.text!r}")
            path.append(part.text)
        return path

    def name_or_call(self, tok: Token, refs: list[Reference], calls: list[str]) -> object:
        if tok.text in ("true", "false"):
            return tok.text == "true"
        if tok.text == "null":
            return None
        path = self.dotted_path(tok)
        if not self._at("("):
            ref = Reference(tuple(path), tok.line)
            refs.append(ref)
            return self.postfix(ref, refs, calls)
        self.next()
        calls.append(".".join(path))
        while True:
            if self._at(")"):
                self.next()
                break
            refs.extend(_references_in(self.expression()))
            sep = self.next()
            if sep.text == ")":
                break
            if sep.text != ",":
                raise AlloySyntaxError(f"line {sep.line}: expected ',' or ')' in a call, found {sep.text!r}")
        return self.postfix(Expr([], tok.line, []), refs, calls)

    def postfix(self, value: object, refs: list[Reference], calls: list[str]) -> object:
        while self._at("["):
            self.next()
            index = self.expression()
            refs.extend(_references_in(index))
            self.expect("]")
            calls.append("[]")
        return value


def _references_in(value: object) -> list[Reference]:
    if isinstance(value, Reference):
        return [value]
    if isinstance(value, Expr):
        return list(value.references)
    if isinstance(value, list):
        return [r for item in value for r in _references_in(item)]
    if isinstance(value, dict):
        return [r for item in value.values() for r in _references_in(item)]
    return []


def references_in(value: object) -> list[Reference]:
    """Every reference inside a value (lists, objects and expressions included)."""
    return _references_in(value)


def parse(text: str) -> Document:
    parser = _Parser(tokenize(text))
    attrs, blocks = parser.body(closing=False)
    return Document(blocks=blocks, attributes=attrs)
