# Generates the wgmma wrappers' asm operand lists (register A, descriptor B, FP32 accumulators).
def fn(n):
    regs = n // 2  # f32 accumulators per thread for m64nNk16
    d = ", ".join(f"%{i}" for i in range(regs))
    a = ", ".join(f"%{regs+i}" for i in range(4))
    sc, desc, tr = regs + 4, regs + 5, regs + 6
    outs = ", ".join(f'"+f"(d[{i}])' for i in range(regs))
    s = []
    s.append(f"template <int kTransB>")
    s.append(f"__device__ __forceinline__ void wgmma_m64n{n}k16_rs(float (&d)[{regs}], const uint32_t (&a)[4], uint64_t desc_b, int scale_d) {{")
    s.append(f'  asm volatile(')
    s.append(f'      "{{\\n.reg .pred p;\\nsetp.ne.b32 p, %{sc}, 0;\\n"')
    s.append(f'      "wgmma.mma_async.sync.aligned.m64n{n}k16.f32.bf16.bf16 "')
    # split the long operand list over lines of ~100 chars
    line = "{" + d + "}, "
    chunks = []
    cur = ""
    for tok in line.split(" "):
        if len(cur) + len(tok) > 90:
            chunks.append(cur)
            cur = ""
        cur += tok + " "
    chunks.append(cur)
    for c in chunks:
        s.append(f'      "{c.rstrip()} "' if c.strip() else "")
    s.append(f'      "{{{a}}}, %{desc}, p, 1, 1, %{tr};\\n}}\\n"')
    # outputs
    outl = []
    cur = "      : "
    for i, o in enumerate(outs.split(", ")):
        tok = o + (", " if i < regs - 1 else "")
        if len(cur) + len(tok) > 118:
            outl.append(cur.rstrip())
            cur = "        "
        cur += tok
    outl.append(cur.rstrip())
    s.extend(outl)
    s.append(f'      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(scale_d), "l"(desc_b), "n"(kTransB));')
    s.append("}")
    return "\n".join(x for x in s if x != "")
print(fn(64)); print(); print(fn(128))
