package dev.wmss.train.data;

import dev.wmss.train.data.jinja.Template;
import dev.wmss.train.data.jinja.TemplateException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tokenizer's own chat template (tokenizer_config.json's chat_template, a Jinja template) as a {@link ChatFormat}:
 * the prompt is the conversation without its last message rendered with add_generation_prompt, the response is
 * what the whole conversation adds to it (the assistant's turn with its end-of-turn marker). A BOS the template
 * writes itself is left to the collator, which prepends the BOS id once.
 */
public final class ChatTemplate implements ChatFormat {
    private final Template template;
    private final String bosToken, eosToken;

    public ChatTemplate(String source, String bosToken, String eosToken) {
        this.template = Template.parse(source);
        this.bosToken = bosToken;
        this.eosToken = eosToken;
    }

    @Override
    public Example render(List<Message> messages) {
        String prompt = render(messages.subList(0, messages.size() - 1), true);
        String full = render(messages, false);
        if (!full.startsWith(prompt)) {
            throw new TemplateException("the template renders the conversation differently with and without its last"
                    + " message, so prompt and response cannot be split");
        }
        String response = full.substring(prompt.length()).stripTrailing();
        // the answer itself must be in what is trained (a template that drops the assistant's content would train on
        // its end-of-turn marker alone); a reasoning block before "</think>" may be rendered apart or left out
        String answer = messages.getLast().content().strip();
        int think = answer.lastIndexOf("</think>");
        if (think >= 0) answer = answer.substring(think + "</think>".length()).strip();
        if (!answer.isEmpty() && !response.contains(answer)) {
            throw new TemplateException("the template renders the assistant's turn without its content (the response"
                    + " would be " + (response.isEmpty() ? "empty" : "\"" + response + "\" alone") + "): training would"
                    + " learn " + (response.isEmpty() ? "nothing" : "the turn's markers") + " and not the answer;"
                    + " use a template that renders message.content for the assistant");
        }
        if (bosToken != null && !bosToken.isEmpty() && prompt.startsWith(bosToken)) prompt = prompt.substring(bosToken.length());
        return new Example(prompt, response);
    }

    /** The template's text for these messages. */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        List<Object> list = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("role", m.role());
            o.put("content", m.content());
            list.add(o);
        }
        Map<String, Object> vars = new HashMap<>();
        vars.put("messages", list);
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("bos_token", bosToken == null ? "" : bosToken);
        vars.put("eos_token", eosToken == null ? "" : eosToken);
        vars.put("tools", null);
        vars.put("documents", null);
        return template.render(vars);
    }
}
