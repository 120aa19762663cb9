#!/usr/bin/env python3
"""Golden renderings of real chat templates by Jinja2, the engine Hugging Face renders chat templates with.

    python3 scripts/chat-template-goldens.py        # Debian: apt-get install -y python3-jinja2

Reads java/train/src/test/resources/chat-templates/*.jinja (the templates as their models ship them; README.md
there says where each comes from) and writes goldens.json beside them: for every template and case, the variables
it was rendered with and the text Jinja2 made, or the message of the error the template raised.
ChatTemplateGoldenTest renders the same variables with the Java engine and compares.

The environment is set up as transformers sets up apply_chat_template's (chat_template_utils.py): a sandboxed
environment with trim_blocks and lstrip_blocks on and the loopcontrols extension; tojson replaced by json.dumps
with ensure_ascii off (indent, separators and sort_keys passed through); raise_exception(msg) raising a
TemplateError; strftime_now(fmt) formatting the current time (no case here depends on the date). The tokenizer's
special tokens are variables (bos_token, eos_token), as transformers passes them.
"""
import json
import pathlib

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from datetime import datetime

HERE = pathlib.Path(__file__).resolve().parent.parent / "java/train/src/test/resources/chat-templates"


def environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env


SYSTEM = {"role": "system", "content": "You are a careful tutor. Answer briefly."}
CHAT = [
    {"role": "user", "content": "What is 17 + 25?"},
    {"role": "assistant", "content": "17 + 25 = 42."},
    {"role": "user", "content": "And 42 × 2? Answer with “the number” only."},
    {"role": "assistant", "content": "84"},
]
TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_temperature",
        "description": "The current temperature at a place, in °C.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "City and country, e.g. \"Zürich, CH\""}},
            "required": ["location"],
        },
    },
}]
TOOL_CALL_CHAT = [
    {"role": "user", "content": "How warm is it in Paris?"},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "call00001", "type": "function", "function": {
        "name": "get_temperature", "arguments": {"location": "Paris, FR"}}}]},
    {"role": "tool", "tool_call_id": "call00001", "name": "get_temperature", "content": "21.5"},
    {"role": "assistant", "content": "It is 21.5 °C in Paris."},
]
THINKING_CHAT = [
    {"role": "user", "content": "Is 91 prime?"},
    {"role": "assistant", "content": "<think>\n91 = 7 × 13.\n</think>\n\nNo: 91 = 7 × 13."},
]

TOKENS = {
    "qwen3": {"bos_token": "", "eos_token": "<|im_end|>"},
    "llama3": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "mistral": {"bos_token": "<s>", "eos_token": "</s>"},
}


def cases(name):
    """(case name, variables) for one template: with and without a system message, with and without tools, the
    generation prompt on and off (on: the conversation up to the last user turn, as a prompt is rendered)."""
    for system in (False, True):
        for tools in (False, True):
            for gen in (False, True):
                messages = ([SYSTEM] if system else []) + (CHAT[:-1] if gen else CHAT)
                v = {"messages": messages, "add_generation_prompt": gen}
                if tools:
                    v["tools"] = TOOLS
                yield f"{'system' if system else 'nosystem'}-{'tools' if tools else 'notools'}-{'gen' if gen else 'nogen'}", v
    yield "tool-call", {"messages": TOOL_CALL_CHAT, "tools": TOOLS, "add_generation_prompt": False}
    yield "tool-call-gen", {"messages": TOOL_CALL_CHAT[:-1], "tools": TOOLS, "add_generation_prompt": True}
    yield "thinking", {"messages": THINKING_CHAT, "add_generation_prompt": False}
    if name == "qwen3":
        yield "thinking-off-gen", {"messages": CHAT[:-1], "add_generation_prompt": True, "enable_thinking": False}
    if name == "mistral":
        yield "roles-not-alternating", {"messages": [CHAT[0], CHAT[0]], "add_generation_prompt": False}
    if name == "llama3":
        yield "date-string", {"messages": CHAT[:2], "add_generation_prompt": False, "date_string": "01 Jan 2026"}


def main():
    env = environment()
    out = []
    for path in sorted(HERE.glob("*.jinja")):
        template = env.from_string(path.read_text(encoding="utf-8"))
        for case, variables in cases(path.stem):
            variables = {**TOKENS[path.stem], **variables}
            entry = {"template": path.name, "case": case, "variables": variables}
            try:
                entry["rendered"] = template.render(**variables)
            except jinja2.exceptions.TemplateError as e:
                entry["error"] = str(e)
            out.append(entry)
    text = json.dumps(out, ensure_ascii=False, indent=1) + "\n"
    (HERE / "goldens.json").write_text(text, encoding="utf-8")
    print(f"{len(out)} renderings by Jinja2 {jinja2.__version__} -> {HERE / 'goldens.json'}")


if __name__ == "__main__":
    main()
