"""The code point sweep of the parity tests: text that holds every code point of planes 0-3 and 14,
and the first and last 256 of each other plane, each in a few contexts; cut into chunks, each hashed.

tests/unit/test_tokenizer_parity.cpp builds the same text (sweep_chunk_text there): keep the two in step.
"""

CHUNK = 4096  # code points per chunk


def code_points():
    cps = []
    for plane in range(17):
        lo, hi = plane << 16, (plane << 16) + 0xFFFF
        if plane <= 3 or plane == 14:
            cps += range(lo, hi + 1)
        else:
            cps += range(lo, lo + 256)
            cps += range(hi - 255, hi + 1)
    return [c for c in cps if not 0xD800 <= c <= 0xDFFF]


def chunk_text(cps):
    # After a letter, doubled, after a space, before a digit and at a line end.
    return "".join(f"x{chr(c)}{chr(c)} {chr(c)}1{chr(c)}\n" for c in cps)


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def ids_hash(ids) -> str:
    return f"{fnv1a64(b''.join(i.to_bytes(4, 'little') for i in ids)):016x}"


def hashes(tok):
    cps = code_points()
    out = []
    for k in range(0, len(cps), CHUNK):
        text = chunk_text(cps[k:k + CHUNK])
        ids = tok.encode(text, add_special_tokens=False).ids
        decoded = tok.decode(ids)
        out.append({"ids": len(ids), "ids_fnv": ids_hash(ids),
                    "decoded_fnv": "same" if decoded == text else f"{fnv1a64(decoded.encode()):016x}"})
    return out
