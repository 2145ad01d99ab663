"""The safe condition language of `when:` (docs/flows.md): tokenizer, parser, evaluator; no eval."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Lookup = Callable[[str], Any]

# Deep nesting would otherwise end in RecursionError; no real condition comes close.
MAX_DEPTH = 40
# Python refuses to convert very long digit strings to int; nobody writes such literals.
MAX_NUMBER_LENGTH = 18

NAME_PREFIXES = ("results.", "contact.")
KEYWORDS = {"and", "or", "not", "in", "true", "false", "none"}
COMPARISONS = {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<number>[0-9]+(?:\.[0-9]+)?)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>==|!=|<=|>=|<|>|\+|-|\(|\)|\[|\]|,)
    """,
    re.VERBOSE | re.ASCII,
)


class ConditionError(ValueError):
    """A condition that does not parse; `column` is 1-based."""

    def __init__(self, message: str, column: int) -> None:
        self.column = column
        super().__init__(f"{message} (column {column})")


@dataclass(frozen=True)
class Token:
    """One token: its kind (number, string, name, op, keyword, end), text and column."""

    kind: str
    text: str
    column: int


def tokenize(source: str) -> Iterator[Token]:
    """Split a condition into tokens, ending with an `end` token."""
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise ConditionError(f"unexpected character {source[position]!r}", position + 1)
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "number" and len(text) > MAX_NUMBER_LENGTH:
            raise ConditionError("number too long", position + 1)
        if kind == "name" and text in KEYWORDS:
            kind = "keyword"
        if kind != "space":
            yield Token(kind, text, position + 1)
        position = match.end()
    yield Token("end", "", len(source) + 1)


# --- the syntax tree -------------------------------------------------------------------------


class Node:
    """A node of the syntax tree."""

    def evaluate(self, lookup: Lookup) -> Any:
        """Compute this node's value; never raises on content (missing or odd values)."""
        raise NotImplementedError

    def names(self) -> Iterator[str]:
        """Yield every `results.x` / `contact.x` name used."""
        yield from ()


@dataclass(frozen=True)
class Literal(Node):
    """A number, string, true/false/none."""

    value: Any

    def evaluate(self, lookup: Lookup) -> Any:
        return self.value


@dataclass(frozen=True)
class Name(Node):
    """`results.x` or `contact.x`; a missing name is None."""

    name: str

    def evaluate(self, lookup: Lookup) -> Any:
        return lookup(self.name)

    def names(self) -> Iterator[str]:
        yield self.name


@dataclass(frozen=True)
class ListOf(Node):
    """A list literal `[a, b]`."""

    items: tuple[Node, ...]

    def evaluate(self, lookup: Lookup) -> Any:
        return [item.evaluate(lookup) for item in self.items]

    def names(self) -> Iterator[str]:
        for item in self.items:
            yield from item.names()


@dataclass(frozen=True)
class Not(Node):
    """`not x`."""

    operand: Node

    def evaluate(self, lookup: Lookup) -> Any:
        return not truthy(self.operand.evaluate(lookup))

    def names(self) -> Iterator[str]:
        yield from self.operand.names()


@dataclass(frozen=True)
class Binary(Node):
    """`a op b` for and/or, comparisons and + / -."""

    op: str
    left: Node
    right: Node

    def evaluate(self, lookup: Lookup) -> Any:
        if self.op == "and":
            return truthy(self.left.evaluate(lookup)) and truthy(self.right.evaluate(lookup))
        if self.op == "or":
            return truthy(self.left.evaluate(lookup)) or truthy(self.right.evaluate(lookup))
        left, right = self.left.evaluate(lookup), self.right.evaluate(lookup)
        if self.op in ("+", "-"):
            return arithmetic(self.op, left, right)
        return compare(self.op, left, right)

    def names(self) -> Iterator[str]:
        yield from self.left.names()
        yield from self.right.names()


def truthy(value: Any) -> bool:
    """Truth as a flow author expects it: none, false, 0, "" and [] are false."""
    return bool(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def arithmetic(op: str, left: Any, right: Any) -> Any:
    """`+` / `-` for totals: a missing value counts 0; anything not a number gives none."""
    left = 0 if left is None else left
    right = 0 if right is None else right
    if not (_is_number(left) and _is_number(right)):
        return None
    return left + right if op == "+" else left - right


def compare(op: str, left: Any, right: Any) -> bool:
    """Compare without raising: values of different kinds are simply not ordered."""
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op in ("in", "not in"):
        found = _contains(right, left)
        return found if op == "in" else not found
    ordered = (_is_number(left) and _is_number(right)) or (
        isinstance(left, str) and isinstance(right, str)
    )
    if not ordered:
        return False
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, list):
        return item in container
    if isinstance(container, str) and isinstance(item, str):
        return item in container
    return False


# --- the parser ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A parsed condition with its source text."""

    source: str
    tree: Node

    def evaluate(self, lookup: Lookup) -> bool:
        """True when the condition holds for the values `lookup` gives."""
        return truthy(self.tree.evaluate(lookup))

    def value(self, lookup: Lookup) -> Any:
        """The expression's own value (a total, a name's value, a truth), for `set`."""
        return self.tree.evaluate(lookup)

    def names(self) -> tuple[str, ...]:
        """Every name the condition reads."""
        return tuple(self.tree.names())


def parse_condition(source: str) -> Condition:
    """Parse a condition; raise ConditionError (and nothing else) when it is not valid."""
    return Condition(source, _Parser(source).parse())


class _Parser:
    """Recursive descent, one method per precedence level (or < and < not < comparison < sum)."""

    def __init__(self, source: str) -> None:
        self.tokens = list(tokenize(source))
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.current
        if token.kind != "end":
            self.index += 1
        return token

    def accept(self, *texts: str) -> Token | None:
        if self.current.kind in ("op", "keyword") and self.current.text in texts:
            return self.advance()
        return None

    def expect(self, text: str) -> Token:
        token = self.accept(text)
        if token is None:
            raise ConditionError(
                f"expected {text!r}, found {self._describe()}", self.current.column
            )
        return token

    def _describe(self) -> str:
        return "end of condition" if self.current.kind == "end" else repr(self.current.text)

    def parse(self) -> Node:
        if self.current.kind == "end":
            raise ConditionError("empty condition", 1)
        node = self.parse_or()
        if self.current.kind != "end":
            raise ConditionError(f"unexpected {self._describe()}", self.current.column)
        return node

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError("condition nested too deeply", self.current.column)

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.accept("or"):
            node = Binary("or", node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_not()
        while self.accept("and"):
            node = Binary("and", node, self.parse_not())
        return node

    def parse_not(self) -> Node:
        if self.accept("not"):
            self.nested()
            node: Node = Not(self.parse_not())
            self.depth -= 1
            return node
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        left = self.parse_sum()
        if self.accept("not"):
            self.expect("in")
            op = "not in"
        else:
            token = self.accept("==", "!=", "<", "<=", ">", ">=", "in")
            if token is None:
                return left
            op = token.text
        right = self.parse_sum()
        if self.current.text in COMPARISONS and self.current.kind in ("op", "keyword"):
            raise ConditionError("chained comparisons are not allowed", self.current.column)
        return Binary(op, left, right)

    def parse_sum(self) -> Node:
        node = self.parse_atom()
        while token := self.accept("+", "-"):
            node = Binary(token.text, node, self.parse_atom())
        return node

    def parse_atom(self) -> Node:
        self.nested()
        try:
            return self._atom()
        finally:
            self.depth -= 1

    def _atom(self) -> Node:
        token = self.current
        if token.kind == "number":
            self.advance()
            return Literal(float(token.text) if "." in token.text else int(token.text))
        if token.kind == "string":
            self.advance()
            return Literal(_unquote(token.text))
        if token.kind == "keyword" and token.text in ("true", "false", "none"):
            self.advance()
            return Literal({"true": True, "false": False, "none": None}[token.text])
        if token.kind == "name":
            self.advance()
            if not token.text.startswith(NAME_PREFIXES) or token.text.count(".") != 1:
                raise ConditionError(
                    f"unknown name {token.text!r}: use results.<name> or contact.<name>",
                    token.column,
                )
            return Name(token.text)
        if self.accept("-"):
            return Binary("-", Literal(0), self.parse_atom())
        if self.accept("("):
            node = self.parse_or()
            self.expect(")")
            return node
        if self.accept("["):
            return self._list()
        raise ConditionError(f"expected a value, found {self._describe()}", token.column)

    def _list(self) -> Node:
        items: list[Node] = []
        if self.accept("]"):
            return ListOf(())
        while True:
            items.append(self.parse_or())
            if self.accept("]"):
                return ListOf(tuple(items))
            self.expect(",")


def _unquote(text: str) -> str:
    # Only \\ and escaped quotes are meaningful; anything else keeps its backslash.
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: m.group(1) if m.group(1) in "\\\"'" else m.group(), body)
