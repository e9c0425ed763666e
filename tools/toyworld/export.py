"""Writes a trained model in Hugging Face layout: config.json, model.safetensors (F32), tokenizer files, generation config."""
import json, os, shutil, struct
import torch


def write_safetensors(tensors, path):
    """safetensors format: u64 little-endian header length, JSON header (offsets into the data block), raw data."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous().cpu()
        b = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)  # align the data block to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def export_model(model, cfg, out, data_dir, train_info):
    os.makedirs(out, exist_ok=True)
    sd = {k: v for k, v in model.state_dict().items() if not (cfg["tie_word_embeddings"] and k == "lm_head.weight")}
    write_safetensors(sd, os.path.join(out, "model.safetensors"))
    tok = json.load(open(os.path.join(data_dir, "tokenizer.json")))["model"]["vocab"]
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "float32",
        "hidden_size": cfg["hidden_size"], "intermediate_size": cfg["intermediate_size"],
        "num_hidden_layers": cfg["num_hidden_layers"], "num_attention_heads": cfg["num_attention_heads"],
        "num_key_value_heads": cfg["num_key_value_heads"], "head_dim": cfg["hidden_size"] // cfg["num_attention_heads"],
        "hidden_act": "silu", "rms_norm_eps": cfg["rms_norm_eps"], "rope_theta": cfg["rope_theta"], "rope_scaling": None,
        "max_position_embeddings": cfg["max_position_embeddings"], "vocab_size": cfg["vocab_size"],
        "tie_word_embeddings": cfg["tie_word_embeddings"], "attention_bias": False, "mlp_bias": False,
        "bos_token_id": tok["<bos>"], "eos_token_id": tok["<eos>"], "pad_token_id": tok["<pad>"],
        "initializer_range": 0.02, "use_cache": True,
    }
    json.dump(config, open(os.path.join(out, "config.json"), "w"), indent=2)
    json.dump({"bos_token_id": tok["<bos>"], "eos_token_id": [tok["<eos>"], tok["<|end|>"]], "pad_token_id": tok["<pad>"],
               "do_sample": False, "max_new_tokens": 48}, open(os.path.join(out, "generation_config.json"), "w"), indent=2)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(data_dir, f), os.path.join(out, f))
    json.dump(train_info, open(os.path.join(out, "training.json"), "w"), indent=1)
