#!/usr/bin/python3
"""Exports the trained TinyStories BitNet to GGUF (I2_S) and to a Hugging Face folder, plus a
PyTorch logits fixture for tern's tests.

GGUF: architecture `bitnet-b1.58` with llama.cpp's tensor and metadata names (the layout of
Microsoft's official 2B4T file): ternary projections as I2_S (codes + one f32 scale = mean|W|,
exactly the T and m the training forward pass used), F16 token embedding (tied head), F32
norms, SentencePiece vocabulary as `tokenizer.ggml.model = llama`.

HF folder: config.json (BitNetForCausalLM, quantization_config autobitlinear/offline), one
model.safetensors with transformers' packed U8 weights + F32 weight_scale, the same F16
embedding and F32 norms, and the SentencePiece tokenizer.model.

Fixture: PyTorch's forward pass over the exported weights (embedding rounded to F16 exactly as
stored) for a fixed prompt, all positions, float32 little-endian, with the prompt ids.
"""
import argparse
import json
import os
import struct

import numpy as np
import sentencepiece as spm
import torch

from model import BitNet, Config, ternary_weight

HERE = os.path.dirname(os.path.abspath(__file__))
ARCH = "bitnet-b1.58"
FIXTURE_PROMPT = "Once upon a time, there was a little girl named Lily. She"

# GGUF value types
U32, I32, F32, BOOL, STRING, ARRAY = 4, 5, 6, 7, 8, 9
GGML_F32, GGML_F16, GGML_I2_S = 0, 1, 36

PROJECTIONS = [  # (module attribute, GGUF name, HF name)
    ("q", "attn_q", "self_attn.q_proj"), ("k", "attn_k", "self_attn.k_proj"), ("v", "attn_v", "self_attn.v_proj"),
    ("o", "attn_output", "self_attn.o_proj"), ("gate", "ffn_gate", "mlp.gate_proj"), ("up", "ffn_up", "mlp.up_proj"),
    ("down", "ffn_down", "mlp.down_proj"),
]
NORMS = [  # (module attribute, GGUF name, HF name)
    ("attn_norm", "attn_norm", "input_layernorm"), ("attn_sub_norm", "attn_sub_norm", "self_attn.attn_sub_norm"),
    ("ffn_norm", "ffn_norm", "post_attention_layernorm"), ("ffn_sub_norm", "ffn_sub_norm", "mlp.ffn_sub_norm"),
]


def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gguf_kv(key, vtype, value):
    out = gguf_string(key) + struct.pack("<I", vtype)
    if vtype == STRING:
        return out + gguf_string(value)
    if vtype == ARRAY:
        elem, items = value
        out += struct.pack("<IQ", elem, len(items))
        if elem == STRING:
            return out + b"".join(gguf_string(s) for s in items)
        fmt = {U32: "<I", I32: "<i", F32: "<f"}[elem]
        return out + b"".join(struct.pack(fmt, v) for v in items)
    fmt = {U32: "<I", I32: "<i", F32: "<f", BOOL: "<?"}[vtype]
    return out + struct.pack(fmt, value)


def pack_i2_s(t):
    """Ternary int tensor [rows, cols] -> I2_S code bytes (128-element groups, high bits first)."""
    codes = (t.reshape(-1).astype(np.int64) + 1).astype(np.uint8)
    groups = codes.reshape(-1, 4, 32)  # group, lane, pos
    packed = (groups[:, 0] << 6) | (groups[:, 1] << 4) | (groups[:, 2] << 2) | groups[:, 3]
    return packed.astype(np.uint8).tobytes()


def pack_hf(t):
    """Ternary [rows, cols] -> transformers packed U8 [ceil(rows/4), cols] (four row planes)."""
    rows, cols = t.shape
    r4 = (rows + 3) // 4
    codes = np.zeros((4 * r4, cols), dtype=np.uint8)
    codes[:rows] = (t + 1).astype(np.uint8)
    planes = codes.reshape(4, r4, cols)
    return (planes[0] | (planes[1] << 2) | (planes[2] << 4) | (planes[3] << 6)).astype(np.uint8)


def ternary_parts(weight):
    t, m = ternary_weight(weight.detach().float())
    return t.numpy().astype(np.int8), np.float32(m.item())


def write_gguf(path, model, sp, config, embedding_f16):
    c = config
    kvs = [
        gguf_kv("general.architecture", STRING, ARCH),
        gguf_kv("general.name", STRING, "tern TinyStories BitNet b1.58"),
        gguf_kv("general.license", STRING, "CDLA-Sharing-1.0 data; model weights: Results under CDLA"),
        gguf_kv(f"{ARCH}.vocab_size", U32, c.vocab_size),
        gguf_kv(f"{ARCH}.context_length", U32, c.context),
        gguf_kv(f"{ARCH}.embedding_length", U32, c.hidden),
        gguf_kv(f"{ARCH}.block_count", U32, c.layers),
        gguf_kv(f"{ARCH}.feed_forward_length", U32, c.ffn),
        gguf_kv(f"{ARCH}.rope.dimension_count", U32, c.head_dim),
        gguf_kv(f"{ARCH}.attention.head_count", U32, c.heads),
        gguf_kv(f"{ARCH}.attention.head_count_kv", U32, c.kv_heads),
        gguf_kv(f"{ARCH}.attention.layer_norm_rms_epsilon", F32, c.eps),
        gguf_kv(f"{ARCH}.rope.freq_base", F32, c.rope_theta),
        gguf_kv("general.file_type", U32, 40),
        gguf_kv("tokenizer.ggml.model", STRING, "llama"),
        gguf_kv("tokenizer.ggml.tokens", ARRAY, (STRING, [sp.id_to_piece(i) for i in range(sp.get_piece_size())])),
        gguf_kv("tokenizer.ggml.scores", ARRAY, (F32, [sp.get_score(i) for i in range(sp.get_piece_size())])),
        gguf_kv("tokenizer.ggml.token_type", ARRAY, (I32, [token_type(sp, i) for i in range(sp.get_piece_size())])),
        gguf_kv("tokenizer.ggml.bos_token_id", U32, sp.bos_id()),
        gguf_kv("tokenizer.ggml.eos_token_id", U32, sp.eos_id()),
        gguf_kv("tokenizer.ggml.unknown_token_id", U32, sp.unk_id()),
        gguf_kv("tokenizer.ggml.add_bos_token", BOOL, True),
        gguf_kv("tokenizer.ggml.add_eos_token", BOOL, False),
        gguf_kv("general.quantization_version", U32, 2),
    ]
    tensors = [("token_embd.weight", GGML_F16, [c.hidden, c.vocab_size], embedding_f16.tobytes()),
               ("output_norm.weight", GGML_F32, [c.hidden], model.norm.weight.detach().float().numpy().tobytes())]
    for n, block in enumerate(model.blocks):
        for attr, gguf_name, _ in NORMS:
            w = getattr(block, attr).weight.detach().float().numpy()
            tensors.append((f"blk.{n}.{gguf_name}.weight", GGML_F32, [w.shape[0]], w.tobytes()))
        for attr, gguf_name, _ in PROJECTIONS:
            t, m = ternary_parts(getattr(block, attr).weight)
            data = pack_i2_s(t) + struct.pack("<f", m) + bytes(28)
            tensors.append((f"blk.{n}.{gguf_name}.weight", GGML_I2_S, [t.shape[1], t.shape[0]], data))

    align = 32
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs)
    infos, offset = b"", 0
    for name, ggml_type, dims, data in tensors:
        infos += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", ggml_type, offset)
        offset += (len(data) + align - 1) // align * align
    with open(path + ".tmp", "wb") as f:
        f.write(header + infos)
        f.write(bytes((-f.tell()) % align))
        for _, _, _, data in tensors:
            f.write(data)
            f.write(bytes((-len(data)) % align))
    os.replace(path + ".tmp", path)


def token_type(sp, i):
    if sp.is_unknown(i):
        return 2
    if sp.is_control(i):
        return 3
    if sp.is_byte(i):
        return 6
    return 1


def write_safetensors(path, tensors):
    header, data, offset = {}, [], 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        data.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((-len(text)) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for raw in data:
            f.write(raw)
    os.replace(path + ".tmp", path)


def write_hf(folder, model, sp_path, config, embedding_f16):
    os.makedirs(folder, exist_ok=True)
    c = config
    tensors = [("model.embed_tokens.weight", "F16", [c.vocab_size, c.hidden], embedding_f16.tobytes()),
               ("model.norm.weight", "F32", [c.hidden], model.norm.weight.detach().float().numpy().tobytes())]
    for n, block in enumerate(model.blocks):
        for attr, _, hf_name in NORMS:
            w = getattr(block, attr).weight.detach().float().numpy()
            tensors.append((f"model.layers.{n}.{hf_name}.weight", "F32", [w.shape[0]], w.tobytes()))
        for attr, _, hf_name in PROJECTIONS:
            t, m = ternary_parts(getattr(block, attr).weight)
            packed = pack_hf(t)
            tensors.append((f"model.layers.{n}.{hf_name}.weight", "U8", list(packed.shape), packed.tobytes()))
            tensors.append((f"model.layers.{n}.{hf_name}.weight_scale", "F32", [1], struct.pack("<f", m)))
    write_safetensors(os.path.join(folder, "model.safetensors"), sorted(tensors))
    config_json = {
        "architectures": ["BitNetForCausalLM"], "model_type": "bitnet", "vocab_size": c.vocab_size,
        "hidden_size": c.hidden, "intermediate_size": c.ffn, "num_hidden_layers": c.layers,
        "num_attention_heads": c.heads, "num_key_value_heads": c.kv_heads, "head_dim": c.head_dim,
        "max_position_embeddings": c.context, "rms_norm_eps": c.eps, "rope_theta": c.rope_theta,
        "hidden_act": "relu2", "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2,
        "torch_dtype": "float32",
        "quantization_config": {"quant_method": "bitnet", "linear_class": "autobitlinear",
                                "quantization_mode": "offline"},
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config_json, f, indent=2)
    with open(sp_path, "rb") as src, open(os.path.join(folder, "tokenizer.model"), "wb") as dst:
        dst.write(src.read())
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>",
                   "unk_token": "<unk>", "add_bos_token": True, "add_eos_token": False}, f, indent=2)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.path.join(HERE, "out"))
    p.add_argument("--checkpoint", default="best.pt")
    p.add_argument("--dest", default=os.path.join(HERE, "..", "..", "models", "tinystories"))
    p.add_argument("--name", default="tinystories-bitnet")
    args = p.parse_args()
    state = torch.load(os.path.join(args.out, args.checkpoint))
    config = Config(**state["config"])
    model = BitNet(config)
    model.load_state_dict(state["model"])
    model.eval()
    sp_path = os.path.join(args.out, "tokenizer.model")
    sp = spm.SentencePieceProcessor(model_file=sp_path)

    # The embedding as stored (F16); the fixture's forward pass uses exactly these values.
    embedding_f16 = model.embed.weight.detach().float().numpy().astype(np.float16)
    with torch.no_grad():
        model.embed.weight.copy_(torch.from_numpy(embedding_f16.astype(np.float32)))

    os.makedirs(args.dest, exist_ok=True)
    gguf_path = os.path.join(args.dest, args.name + ".gguf")
    write_gguf(gguf_path, model, sp, config, embedding_f16)
    write_hf(os.path.join(args.dest, "hf"), model, sp_path, config, embedding_f16)

    ids = [sp.bos_id()] + sp.encode(FIXTURE_PROMPT)
    with torch.no_grad():
        logits = model(torch.tensor([ids]))[0].float().numpy()
    logits.astype("<f4").tofile(os.path.join(args.dest, "fixture_logits.f32"))
    with open(os.path.join(args.dest, "fixture.json"), "w") as f:
        json.dump({"prompt": FIXTURE_PROMPT, "ids": ids, "vocab_size": config.vocab_size,
                   "step": state.get("step"), "valid_loss": state.get("valid_loss")}, f, indent=2)
    print(f"wrote {gguf_path} ({os.path.getsize(gguf_path)} bytes), the HF folder and the fixture "
          f"({len(ids)} tokens); checkpoint step {state.get('step')}, valid loss {state.get('valid_loss')}")


if __name__ == "__main__":
    main()
