"""Seeds the fuzz corpora (fuzz/corpus/<target>/) from the captured SDK requests in
tests/fixtures/sdk, the built-in stack-trace rules and a few rules and searches of each kind.

Usage: python3 scripts/fuzz_seeds.py   (from the repository root; scripts/fuzz runs it)
"""
import base64
import glob
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
ENCODINGS = {None: 0, "": 1, "identity": 1, "gzip": 2, "deflate": 3, "br": 4, "zstd": 5}


def put(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


def items(envelope):
    """(header, payload) of each item of a decoded envelope."""
    _, _, rest = envelope.partition(b"\n")
    while rest.strip():
        line, _, rest = rest.lstrip().partition(b"\n")
        try:
            header = json.loads(line)
        except ValueError:
            return
        length = header.get("length") if isinstance(header, dict) else None
        if isinstance(length, int):
            payload, rest = rest[:length], rest[length + 1:]
        else:
            payload, _, rest = rest.partition(b"\n")
        yield header, payload


for path in sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "sdk", "*", "*.json"))):
    name = os.path.basename(os.path.dirname(path)) + "-" + os.path.basename(path)[:-5]
    capture = json.load(open(path))
    raw = base64.b64decode(capture.get("body_b64") or "")
    encoding = ENCODINGS.get(capture.get("content_encoding"), 0)
    put("decompress", name, bytes([encoding]) + raw)
    decoded = capture.get("body_text_if_utf8_after_decompression")
    if not decoded:
        continue
    decoded = decoded.encode()
    if capture.get("path", "").rstrip("/").endswith("store"):
        put("normalize", name, decoded)
        put("grouping", name, decoded)
        continue
    put("envelope", name, decoded)
    for n, (header, payload) in enumerate(items(decoded)):
        if isinstance(header, dict) and header.get("type") == "event":
            put("normalize", f"{name}-{n}", payload)
            put("grouping", f"{name}-{n}", payload)
        if isinstance(header, dict) and header.get("type") == "log":
            put("log_item", f"{name}-{n}", payload)

rules = open(os.path.join(ROOT, "src", "grouping", "builtin_rules.txt")).read().splitlines()
rules = [r for r in rules if r.strip() and not r.startswith("#")]
for n in range(0, len(rules), 8):
    put("stacktrace_rules", f"builtin-{n}", "\n".join(rules[n:n + 8]) + "\n")
put("stacktrace_rules", "project", "stack.function:runApp -app -group\nstack.module:django.* -app\n"
    "family:native stack.package:**/libc* -group\nstack.abs_path:**/node_modules/** -app ^-group\n")
put("fingerprint_rules", "examples", "error.type:DatabaseUnavailable -> system-down\n"
    "stack.function:\"assert*\" -> assertion-failed, {{ function }}\n"
    "!logger:\"django.*\" message:\"*timeout*\" -> timeouts title=\"Timeout in {{ transaction }}\"\n"
    "tags.server:\"web-[0-9]\" error.value:\"*refused*\" -> {{ default }}, {{ tags.server }}\n")
for n, query in enumerate([
    "is:unresolved level:error",
    'release:"shop@2.4 beta" has:user environment:prod timeout db',
    'http://x.io/a ":" "two words" is:nonsense <script>',
    "is:all os.name:Linux url:/checkout",
]):
    put("search", str(n), query)
for n, query in enumerate([
    "severity:[warn,error] logger.name:shop.orders card declined",
    '!environment:dev message:"*timeout*" has:user.id tags[x,number]:>=3',
    "trace:49aed8c636be4695a77c5b93beee44fd timestamp_precise:>1796360983000000000",
    "severity_number:<13 message.parameter.0:42 project:[a,b] OR x",
]):
    put("log_search", str(n), query)
