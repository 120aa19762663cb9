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
     * The documented fallback for tokenizers without a chat_template (the byte tokenizer): one "role: content" line
     * per earlier message, then "assistant: " as the end of the prompt; the response is the last message's content.
     */
    ChatFormat PLAIN = messages -> {
        StringBuilder prompt = new StringBuilder();
        for (Message m : messages.subList(0, messages.size() - 1)) {
            prompt.append(m.role()).append(": ").append(m.content()).append('\n');
        }
        prompt.append("assistant: ");
        return new Example(prompt.toString(), messages.getLast().content());
    };
}
