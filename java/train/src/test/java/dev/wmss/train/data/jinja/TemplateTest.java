package dev.wmss.train.data.jinja;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The Jinja subset of chat templates, against outputs worked out by hand from Jinja2's documented semantics
 * (trim_blocks and lstrip_blocks on, as transformers renders chat templates).
 */
class TemplateTest {
    static String render(String template, Object... kv) {
        Map<String, Object> vars = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) vars.put((String) kv[i], kv[i + 1]);
        return Template.parse(template).render(vars);
    }

    static Map<String, Object> msg(String role, String content) {
        return Map.of("role", role, "content", content);
    }

    /** A ChatML-style template written for this test with the constructs real chat templates use. */
    static final String CHATML = """
            {%- if messages[0]['role'] == 'system' %}
                {{- '<|im_start|>system\\n' + messages[0]['content'].strip() + '<|im_end|>\\n' }}
                {%- set loop_messages = messages[1:] %}
            {%- else %}
                {{- '<|im_start|>system\\nYou are helpful.<|im_end|>\\n' }}
                {%- set loop_messages = messages %}
            {%- endif %}
            {%- set ns = namespace(last_user=-1) %}
            {%- for m in loop_messages[::-1] %}
                {%- if ns.last_user == -1 and m.role == 'user' %}{% set ns.last_user = loop_messages|length - 1 - loop.index0 %}{% endif %}
            {%- endfor %}
            {%- for message in loop_messages %}
                {%- if message.role not in ['user', 'assistant'] %}
                    {{- raise_exception('roles must be user or assistant, got ' ~ message.role) }}
                {%- endif %}
                {%- set content = message.content %}
                {%- if message.role == 'assistant' and '</think>' in content %}
                    {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
                {%- endif %}
                {{- '<|im_start|>' + message.role + '\\n' + content }}
                {%- if loop.index0 == ns.last_user and message.content.endswith('?') %}{{ ' (q)' }}{% endif %}
                {{- '<|im_end|>\\n' }}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|im_start|>assistant\\n' }}
            {%- endif %}
            """;

    @Test
    void rendersAChatMlConversationLikeJinja() {
        List<Object> messages = List.of(msg("system", "  Be brief. "), msg("user", "What is 2+2?"),
                msg("assistant", "<think>\nadd</think>\n\n4"));
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2? (q)<|im_end|>\n"
                + "<|im_start|>assistant\n4<|im_end|>\n", render(CHATML, "messages", messages, "add_generation_prompt", false));
        assertEquals("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
                render(CHATML, "messages", List.of(msg("user", "hi")), "add_generation_prompt", true));
        TemplateException e = assertThrows(TemplateException.class,
                () -> render(CHATML, "messages", List.of(msg("tool", "x")), "add_generation_prompt", false));
        assertEquals("roles must be user or assistant, got tool", e.getMessage());
    }

    @Test
    void whitespaceControlFollowsTrimAndLstripBlocks() {
        // trim_blocks drops the newline after a statement; lstrip_blocks the indentation before it
        assertEquals("a\nb\n", render("{% if true %}\n    a\n{% endif %}\nb\n".replace("    a", "a")));
        assertEquals("x\n", render("  {% if true %}\nx\n  {% endif %}\n"));
        assertEquals("[1][2]", render("{% for i in [1, 2] %}\n  [{{ i }}]\n{%- endfor %}").replace("\n", "").replace(" ", ""));
        assertEquals("a b", render("a  {{- ' ' -}}  b"));
        assertEquals("1", render("{# a comment #}\n{{ 1 }}"));
    }

    @Test
    void expressionsBehaveAsInPython() {
        assertEquals("True False None", render("{{ 1 < 2 }} {{ not 1 }} {{ none }}"));
        assertEquals("7 3.5 2 1 8 ab", render("{{ 1 + 2 * 3 }} {{ 7 / 2 }} {{ 7 // 3 }} {{ 7 % 3 }} {{ 2 ** 3 }} {{ 'a' ~ 'b' }}"));
        assertEquals("cba|bc|c", render("{{ 'abc'[::-1] }}|{{ 'abc'[1:] }}|{{ 'abc'[-1] }}"));
        assertEquals("A-B|x|yes", render("{{ 'a b'.upper().split() | join('-') }}|{{ '..x..'.strip('.') }}|{{ 'yes' if 'b' in 'abc' else 'no' }}"));
        Map<String, Object> d = new java.util.LinkedHashMap<>();
        d.put("a", List.of(1, "x"));
        d.put("b", null);
        assertEquals("{\"a\": [1, \"x\"], \"b\": null}", render("{{ d | tojson }}", "d", d));
        assertEquals("3 first last", render("{% for x in [1,2,3] %}{% if loop.first %}{{ loop.length }} first{% endif %}"
                + "{% if loop.last %} last{% endif %}{% endfor %}"));
        assertEquals("defined undefined", render("{{ 'defined' if m.role is defined }} {{ 'undefined' if m.tools is not defined }}",
                "m", msg("user", "x")));
        assertEquals("2", render("{{ ms | selectattr('role', 'equalto', 'user') | list | length }}", "ms",
                List.of(msg("user", "a"), msg("assistant", "b"), msg("user", "c"))));
        assertEquals("ab", render("{% for x in ['a', 'b', 'c'] %}{% if x == 'c' %}{% break %}{% endif %}{{ x }}{% endfor %}"));
        assertEquals("k=v;", render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", "d", Map.of("k", "v")));
        assertEquals("", render("{{ nothing }}{{ nothing.at.all }}"), "undefined prints as nothing");
        assertEquals("outer", render("{% set x = 'outer' %}{% for i in [1] %}{% set x = 'inner' %}{% endfor %}{{ x }}"),
                "set inside a loop does not leak out (use a namespace)");
    }

    @Test
    void unsupportedOrBrokenTemplatesAreClearErrors() {
        TemplateException e = assertThrows(TemplateException.class, () -> Template.parse("{% macro f() %}x{% endmacro %}"));
        assertTrue(e.getMessage().contains("macro") && e.getMessage().contains("not supported"), e.getMessage());
        e = assertThrows(TemplateException.class, () -> Template.parse("{% if x %}open"));
        assertTrue(e.getMessage().contains("endif"), e.getMessage());
        e = assertThrows(TemplateException.class, () -> Template.parse("{{ 1 + }}"));
        assertTrue(e.getMessage().contains("{{") || e.getMessage().contains("1 +"), e.getMessage());
        e = assertThrows(TemplateException.class, () -> render("{{ x | nosuchfilter }}", "x", 1));
        assertTrue(e.getMessage().contains("nosuchfilter"), e.getMessage());
    }
}
