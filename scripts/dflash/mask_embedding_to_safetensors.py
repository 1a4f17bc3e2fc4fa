#!/usr/bin/env python3
"""Turns a drafter's mask_embedding.pt (MiMo ships one) into mask_embedding.safetensors, which
`tachyon convert --drafter` reads (Tachyon has no torch to unpickle .pt files).

    python3 scripts/dflash/mask_embedding_to_safetensors.py DRAFTER_DIR

The .pt holds either the embedding tensor itself or a dict {"embedding": tensor, "mask_token_id": id};
in the latter case the id must equal the config's dflash_config.mask_token_id. The tensor is flattened
to [hidden] and saved, in its own dtype, as the tensor `mask_embedding`.
"""

import argparse
import json
import os
import sys

import torch
from safetensors.torch import save_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("drafter_dir")
    args = parser.parse_args()
    src = os.path.join(args.drafter_dir, "mask_embedding.pt")
    dst = os.path.join(args.drafter_dir, "mask_embedding.safetensors")
    state = torch.load(src, map_location="cpu", weights_only=True)
    with open(os.path.join(args.drafter_dir, "config.json")) as f:
        config = json.load(f)
    hidden = config["hidden_size"]
    mask_id = (config.get("dflash_config") or {}).get("mask_token_id", config.get("mask_token_id"))
    if isinstance(state, dict):
        if state.get("mask_token_id", mask_id) != mask_id:
            print(f"{src}: mask_token_id {state['mask_token_id']} differs from the config's {mask_id}", file=sys.stderr)
            return 1
        state = state["embedding"]
    embedding = state.reshape(-1).contiguous()
    if embedding.numel() != hidden:
        print(f"{src}: {embedding.numel()} values for hidden size {hidden}", file=sys.stderr)
        return 1
    save_file({"mask_embedding": embedding}, dst)
    print(f"wrote {dst}: mask_embedding [{hidden}] {embedding.dtype}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
