#!/usr/bin/env python3
"""Write the fuzz targets' seed corpora: fuzz/corpus/{request,result,util}/.

Run from the top directory (python3 fuzz/mkseeds.py); the files it writes
are kept in git, so this is needed only to change them.  Each seed is a
control prefix (see the comment at the top of each fuzz_*.c) and a body.
"""
import os

def write(target, name, data):
    d = os.path.join("fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

# --- request: byte 0 = '0' (needs a body, max 1 MiB), '1' (empty ok),
# 0x80 | max << 1 (a small max).
NEED, EMPTY_OK = b"0", b"1"
def small(maxlen, empty_ok=0):
    return bytes([0x80 | (maxlen << 1) | empty_ok])

chat = (b'{"type": "ChatTeamSpecV1", "target_entity": {"user_id_target": null,'
        b' "group_urn_target": "urn:geant:helmholtz.de:group:climate-lab"},'
        b' "specification": {"team_name": "Climate Lab"}}')
req = {
    "chat-team": chat,
    "compute": b'{"type": "ComputeResourceSpecV1", "target_entity": {"user_id_target":'
               b' "a1b2c3@helmholtz.de", "group_urn_target": null}, "specification":'
               b' {"cpus": 8, "memory_gb": 32}}',
    "empty-object": b"{}",
    "type-only": b'{"type":"vm"}',
    "type-null": b'{"type":null}',
    "type-number": b'{"type":42}',
    "type-empty": b'{"type":""}',
    "type-dotdot": b'{"type":".."}',
    "type-slash": b'{"type":"a/../../etc"}',
    "type-128": b'{"type":"' + b"a" * 128 + b'"}',
    "type-129": b'{"type":"' + b"a" * 129 + b'"}',
    "type-nul": b'{"type":"vm\\u0000x"}',
    "type-dup": b'{"type":"ok","type":"bad name"}',
    "type-unicode": b'{"type":"caf\\u00e9"}',
    "target-nul": b'{"target_entity":{"user_id_target":"alice\\u0000root"}}',
    "target-number": b'{"target_entity":{"user_id_target":1}}',
    "target-array": b'{"target_entity":[]}',
    "target-string": b'{"target_entity":"alice"}',
    "target-long": b'{"target_entity":{"group_urn_target":"' + b"g" * 4097 + b'"}}',
    "target-4096": b'{"target_entity":{"group_urn_target":"' + b"g" * 4096 + b'"}}',
    "surrogates": b'{"type":"x","target_entity":{"user_id_target":"\\ud800\\udc00\\udbff"}}',
    "array": b"[1,2,3]",
    "string": b'"hello"',
    "number-huge": b"1" + b"0" * 400,
    "number-obj": b'{"specification":{"n":1e999999999,"m":-0.0000000000000000000001e-400}}',
    "literals": b'{"a":true,"b":false,"c":null,"d":nan}',
    "deep-array": b'{"specification":' + b"[" * 300 + b"]" * 300 + b"}",
    "deep-object": b'{"s":' + b'{"a":' * 260 + b"1" + b"}" * 260 + b"}",
    "two-values": b"{} {}",
    "trailing-garbage": b'{"type":"vm"}x',
    "unterminated": b'{"type":"vm",',
    "bad-utf8": b'{"type":"\xc3\x28"}',
    "overlong-utf8": b'{"x":"\xc0\xaf"}',
    "surrogate-utf8": b'{"x":"\xed\xa0\x80"}',
    "raw-nul": b'{"type":"vm"}\x00',
    "bom": b"\xef\xbb\xbf{}",
    "whitespace": b" \t\r\n{}\n",
    "comment": b'{"a":1 /* c */}',
    "escapes": b'{"s":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u20ac"}',
    # The kind in the body (HCA_TYPE_FROM=body:kind: request_body_kind()).
    "kind-body": b'{"kind":"ResourceAllocateV1","type":"vm"}',
    "kind-nul": b'{"kind":"Ping\\u0000V1"}',
    "kind-empty": b'{"kind":""}',
    "kind-number": b'{"kind":7}',
}
for name, body in req.items():
    write("request", name, NEED + body)
write("request", "empty-needed", NEED)
write("request", "empty-ping", EMPTY_OK)
write("request", "ping-object", EMPTY_OK + b"{}")
write("request", "max-small-ok", small(2) + b"{}")
write("request", "max-small-over", small(5) + b'{"a":1}')
write("request", "max-zero-empty", small(0, 1))

# --- result: byte 0 = kind | end << 2 | 0x20 no corr | 0x40 debug log,
# byte 1 = exit status.
PING, ALLOC, DEALLOC, UPDATE = 0, 1, 2, 3
EXITED, SIGNALED, TIMEOUT, TOOBIG, EXECFAIL = 0, 1, 2, 3, 4
def res(kind, code, out, end=EXITED, nocorr=0, debug=0):
    return bytes([kind | end << 2 | nocorr << 5 | debug << 6, code]) + out

results = {
    "ping-empty": res(PING, 0, b""),
    "ping-message": res(PING, 0, b'{"message":"all good"}\n'),
    "ping-text": res(PING, 0, b"ok\n"),
    "alloc-id-object": res(ALLOC, 0, b'{"id":"vm-42"}\n', debug=1),
    "alloc-id-extra": res(ALLOC, 0, b'{"id":"vm-42","secret":"x","n":1}', debug=1),
    "alloc-id-string": res(ALLOC, 0, b'"vm-42"'),
    "alloc-id-text": res(ALLOC, 0, b"vm-42\n"),
    "alloc-empty": res(ALLOC, 0, b""),
    "alloc-id-number": res(ALLOC, 0, b'{"id":42}'),
    "alloc-id-empty": res(ALLOC, 0, b'{"id":""}'),
    "alloc-id-255": res(ALLOC, 0, b'{"id":"' + b"i" * 255 + b'"}'),
    "alloc-id-256": res(ALLOC, 0, b"i" * 256),
    "alloc-id-newline": res(ALLOC, 0, b'{"id":"a\\nb"}'),
    "alloc-id-nul": res(ALLOC, 0, b'{"id":"a\\u0000b"}'),
    "alloc-id-del": res(ALLOC, 0, b"vm\x7f42"),
    "alloc-two-lines": res(ALLOC, 0, b"vm-1\nvm-2\n"),
    "alloc-array": res(ALLOC, 0, b'["vm-42"]'),
    "alloc-two-values": res(ALLOC, 0, b'{"id":"a"}{"id":"b"}'),
    "alloc-bad-json": res(ALLOC, 0, b'{"id":'),
    "alloc-bad-utf8": res(ALLOC, 0, b"vm-\xff"),
    "alloc-utf8-id": res(ALLOC, 0, b"caf\xc3\xa9-\xf0\x9f\x98\x80"),
    "alloc-deep": res(ALLOC, 0, b'{"id":"x","d":' + b"[" * 300 + b"]" * 300 + b"}"),
    "alloc-dup-id": res(DEALLOC, 0, b'{"id":"a","id":"b"}'),
    "alloc-key-nul": res(UPDATE, 0, b'{"i\\u0000d":"a","id":"b"}', debug=1),
    "ping-message-long": res(PING, 0, b'{"message":"' + b"m" * 4001 + b'"}'),
    "fail-empty": res(ALLOC, 1, b""),
    "fail-empty-nocorr": res(ALLOC, 1, b"", nocorr=1),
    "fail-text": res(ALLOC, 1, b"quota exceeded\n"),
    "fail-json": res(ALLOC, 65, b'{"type":"QuotaExceeded","message":"Too many VMs"}'),
    "fail-json-badtype": res(ALLOC, 67, b'{"type":"no such","message":"x"}'),
    "fail-json-string": res(ALLOC, 69, b'"down for maintenance"'),
    "fail-json-msg-number": res(ALLOC, 73, b'{"message":5}'),
    "fail-json-msg-empty": res(ALLOC, 77, b'{"message":""}'),
    "fail-json-msg-nul": res(ALLOC, 78, b'{"message":"a\\u0000b"}'),
    "fail-tempfail": res(UPDATE, 75, b""),
    "fail-long-text": res(ALLOC, 1, "é".encode() * 1200),
    "fail-long-json": res(ALLOC, 1, b'{"message":"' + b"\\u20ac" * 1100 + b'"}'),
    "fail-bad-utf8": res(ALLOC, 64, b"bad \xff\xfe text\x00 with nul"),
    "fail-array": res(ALLOC, 68, b"[1,2]"),
    "fail-spaces": res(ALLOC, 2, b" \t\r\n "),
    "signaled": res(ALLOC, 9, b"partial", end=SIGNALED),
    "timeout": res(DEALLOC, 0, b"", end=TIMEOUT),
    "toobig": res(UPDATE, 0, b"x" * 100, end=TOOBIG),
    "execfail": res(PING, 13, b"", end=EXECFAIL),
}
for name, data in results.items():
    write("result", name, data)

# --- util: byte 0 = utf8_prefix's max, then the text.
utils = {
    "seconds": b"\x0512", "seconds-frac": b"\x050.5", "seconds-dot": b"\x05.",
    "seconds-many-decimals": b"\x051.23456789",
    "seconds-huge": b"\x05" + b"9" * 30, "seconds-sign": b"\x05-1",
    "name": b"\x10ResourceAllocateV1", "name-bad": b"\x101abc",
    "utf8-mixed": b"\x03a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
    "utf8-bad": b"\x04\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xff",
    "utf8-truncated": b"\x02\xe2\x82",
    "nul": b"\x02a\x00b",
    "json-object": b'\x05{"type":"vm","target_entity":{"user_id_target":null}}',
    "json-escaped-quote": b'\x05["a\\"b", "\\\\", {"k":"v"}]',
    "json-string-after-value": b'\x05["a" "b"]',
    "json-string-after-literal": b'\x05{"a":1 "b":2}',
    "json-rs": b'\x05{}\x1e[1 "x"]',
}
for name, data in utils.items():
    write("util", name, data)
