package dev.wmss.train.data;

import java.util.List;

/**
 * How a chat example (its messages, the last being the assistant's answer) becomes a prompt and a response: the
 * tokenizer's own chat template when it has one ({@link ChatTemplate}), else {@link #PLAIN}.
 */
public interface ChatFormat {
    record Message(String role, String content) {}

    Example render(List<Message> messages);

    /**
     * The plain format, for tokenizers without a chat_template when the user asks for it (--chat-template plain):
     * one "role: content" line per earlier message, then "assistant: " as the end of the prompt; the response is the
     * last message's content.
     */
    ChatFormat PLAIN = messages -> {
        StringBuilder prompt = new StringBuilder();
        for (Message m : messages.subList(0, messages.size() - 1)) {
            prompt.append(m.role()).append(": ").append(m.content()).append('\n');
        }
        prompt.append("assistant: ");
        return new Example(prompt.toString(), messages.getLast().content());
    };

    /**
     * What a tokenizer without a chat template (the byte tokenizer, a tokenizer_config.json without chat_template)
     * does with chat data: refuses it, saying how to choose a format. Rendering a conversation in a format the model
     * was never trained on, without telling, would be a silent wrong result.
     */
    ChatFormat NONE = messages -> {
        throw new JsonlReader.DataException("chat data needs a chat template, and the tokenizer has none (no chat_template"
                + " in its tokenizer_config.json, no chat_template.jinja beside it): pass --chat-template FILE (a Jinja chat"
                + " template, e.g. the model's chat_template.jinja) or --chat-template plain (one \"role: content\" line"
                + " per message, then \"assistant: \")");
    };
}
