"""The golden corpus of the tokenizer parity tests (imported by make_fixtures.py).

Hand-written lines cover what the issue lists (code in several languages, prose in several scripts,
CJK, emoji and ZWJ sequences, digits and long numbers, runs of whitespace, special tokens inside
text, U+FFFD and unusual code points, normalization cases); random lines, from a fixed seed, mix the
same ingredients in ways nobody would write by hand.
"""
import random

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|begin_of_text|>",
            "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|start|>", "<|message|>",
            "<|channel|>", "<|return|>", "<s>", "</s>", "<mask>", "[SEP]", "<sp>"]

HAND = [
    # --- code ---
    "def fib(n: int) -> int:\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "class Foo(Base):\n\tdef __init__(self, *args, **kwargs):\n\t\tsuper().__init__(*args, **kwargs)\n",
    "#include <vector>\nint main() { std::vector<int> v{1, 2, 3}; for (auto& x : v) x *= 2; return 0; }",
    "template <typename T> constexpr T max(T a, T b) noexcept { return a > b ? a : b; }  // C++20",
    "fn main() {\n    let s: String = \"héllo\".to_string();\n    println!(\"{s:?} {}\", s.len());\n}",
    "const f = async (x) => { await fetch(`/api/${x}?q=1&r=2`); return x ?? null; };",
    "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"こんにちは\", 42)\n}\n",
    "SELECT u.id, COUNT(*) AS n FROM users u JOIN orders o ON o.user_id = u.id WHERE u.age >= 18 GROUP BY u.id;",
    "<html><body><p class=\"x\">Hi &amp; bye</p><!-- comment --></body></html>",
    "{\"name\": \"tachyon\", \"version\": [0, 1, 0], \"ok\": true, \"ratio\": 0.125, \"none\": null}",
    "for f in *.txt; do echo \"$f\" | sed -e 's/a/b/g' >> out.log 2>&1; done",
    "\\begin{equation} \\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2} \\end{equation}",
    "    if (x != y && y <= z || !flag) {{ return -1; }}",
    "x=1;y=2;z=x**y//3%4<<1>>2|5^6&7~8",
    "https://example.com/path/to/page?query=value&other=123#fragment",
    "user@example.org, admin+tag@sub.domain.co.uk",
    "/usr/local/lib/python3.11/site-packages/__init__.py:42: DeprecationWarning",
    "\x1b[31mred\x1b[0m and \x07bell\x7f del \x00 nul",
    # --- prose ---
    "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX! it's, we'll, they've, I'M, DON'T.",
    "Hello world", " Hello world", "  leading spaces", "trailing spaces   ", "",
    "Ça va? Élève, façade, naïve, cœur, déjà vu — «guillemets».",
    "Größe, Straße, Übermaß, ärgerlich; ẞ capital sharp s.",
    "El niño comió piñas en la montaña; ¿qué tal? ¡Olé!",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. Καλημέρα κόσμε!",
    "العربية: مرحبا بالعالم، كيف حالك؟ ١٢٣٤٥٦٧٨٩٠",
    "עברית: שלום עולם! מה שלומך?",
    "हिन्दी: नमस्ते दुनिया। यह एक परीक्षण है। ०१२३४५६७८९",
    "বাংলা: আমি বাংলায় গান গাই।",
    "தமிழ்: வணக்கம் உலகம்",
    "ไทย: สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    "Tiếng Việt: Xin chào thế giới, tôi yêu tiếng Việt lắm.",
    "Türkçe: İstanbul'da ılık bir gün; I ı İ i.",
    "Polski: Zażółć gęślą jaźń.",
    "ქართული: გამარჯობა მსოფლიო", "Հայերեն: Բարեւ աշխարհ", "አማርኛ: ሰላም ልዑል",
    "ខ្មែរ: សួស្តីពិភពលោក", "မြန်မာ: မင်္ဂလာပါ", "བོད་ཡིག: བཀྲ་ཤིས་བདེ་ལེགས།",
    "ᠮᠣᠩᠭᠣᠯ\u180eᠪᠢᠴᠢᠭ mongolian with vowel separator",
    # --- CJK ---
    "中文：你好，世界！我们今天学习分词器。",
    "繁體中文：歡迎來到臺灣，這是一個測試。",
    "日本語：こんにちは世界。カタカナとひらがなと漢字、ｈａｌｆ／ｆｕｌｌ ｗｉｄｔｈ。",
    "한국어: 안녕하세요 세계! 한글은 조합형 문자입니다.",
    "混合mixed文本text123数字456",
    "CJK Ext B: 𠀀𠀁𠀂 𪜀 𫝀 and Ext H (Unicode 15): 𱍐𱍑𱍒",
    # --- emoji ---
    "👍 👍🏽 👍🏿 ❤️ ❤ ✨🎉🎊",
    "👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 🧑🏿‍🚀 astronaut, 👩‍❤️‍💋‍👨 kiss",
    "🇯🇵🇫🇷🇺🇸 flags, 1️⃣ #️⃣ keycaps, 🏴󠁧󠁢󠁳󠁣󠁴󠁿 Scotland",
    "😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘",
    "emoji in text:🚀launch🚀 now",
    # --- digits ---
    "1234567890123456789012345678901234567890",
    "3.14159265358979 2.718281828 -42 +7 1e-9 6.022e23 0x1F 0b1010 0o777",
    "1,000,000.00 1 000 000 10'000 ₹1,23,456",
    "１２３４５ ①②③ ²³¹ Ⅻ ⅷ ½ ¾ ٠١٢ ۴۵۶ ௧௨௩",
    "2024-01-15T12:34:56Z, v1.2.3-rc.4, 192.168.0.1:8080",
    # --- whitespace ---
    "a  b   c    d     e",
    "tabs\there\t\tand\t\t\tthere",
    "line1\nline2\n\nline4\n\n\n\nline8",
    "windows\r\nline\r\nendings\r\n",
    "   \n   \n\t\n",
    " " * 40, "\t" * 12, "\n" * 9,
    "nbsp\u00a0here, ideographic\u3000space, line\u2028sep, para\u2029sep, nel\u0085x",
    "thin\u2009space en\u2002space em\u2003space narrow\u202fnbsp zero\u200bwidth",
    "word \n word\t\nword \r\n word",
    # --- special tokens inside text ---
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
    "<think>\nLet me think.\n</think>\n\nThe answer is 42.<|im_end|>",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>",
    "<|start|>assistant<|channel|>final<|message|>Done.<|return|>",
    "text<|endoftext|>more text<|endoftext|><|endoftext|>",
    "<|im_start|><|im_end|><|im_start|>",
    "incomplete <|im_start and <|im_end| and <|endoftext",
    "<s> hello </s> <mask> masked <mask>. [SEP]  next [SEP]x <sp> y <sp>",
    "<s><s></s></s>",
    "say hello world, hello worlds, hello world! ahello world",
    "token tokens a token. _token token_ (token) tokenization",
    "cafe\u0301 and café and CAFE\u0301; ñandú and n\u0303andu\u0301",
    "def foo(): pass  # def is an added token in one configuration",
    "   <mask>   spaced   [SEP]   ",
    # --- replacement char, unusual code points ---
    "U+FFFD: \ufffd \ufffd\ufffd and a BOM \ufeff inside",
    "private use \ue000\uf8ff and \U000f0000 \U0010fffd, max \U0010ffff",
    "noncharacters \ufdd0 \ufffe \uffff \U0001fffe",
    "\u0301starts with a combining mark",
    "tags \U000e0041\U000e0042 variation \ufe0f\ufe0e selectors \U000e0100",
    "Unicode 16: \u1c89\u1c8a \U00010d50\U00010d70 \U00016d40 Garay/Kirat; Unicode 15: \U00011f04 \U0001e030",
    "math 𝔸𝔹ℂ 𝐀𝐁𝐂 𝟘𝟙𝟚 ∀x∈ℝ: x²≥0 ⇒ √x ∈ ℝ⁺ ∑∏∫",
    "ǅemal ǲ ᾈ titlecase, ﬁ ﬂ ligatures, Ω Å K compat",
    "ſ long s: it'ſ, IT'S, it’s (curly), it`s",
    # --- normalization cases ---
    "e\u0301 a\u0300 o\u0302 u\u0308 n\u0303 c\u0327",
    "\u212b \u2126 \u212a \u0344 \u0958 \u2adc",
    "\u1100\u1161\u11a8 \u1100\u1161 \u110b\u1175\u11ab jamo",
    "d\u0307\u0323 d\u0323\u0307 q\u0307\u0323 a\u0328\u0301",
    "Vie\u0302\u0323t Nam, Tie\u0302\u0301ng Vie\u0323\u0302t",
    "\u0915\u093c \u0928\u093c \u09c7\u09be \u0b47\u0b3e \u0bc6\u0bbe",
    "\u05d0\u05b8\u05bc \u05e9\u05c1\u05bc \ufb2c",
    "a\u0316\u0300\u0301\u0317 stacked marks",
    # --- long ---
    "a" * 300,
    "ab" * 150,
    "9" * 120,
    "€" * 80,
    "The Transformer architecture, introduced in 2017, relies entirely on attention mechanisms, "
    "dispensing with recurrence and convolutions; Mixture-of-Experts (MoE) layers route each token "
    "to a few of many experts, so a 1T-parameter model activates only ~32B parameters per token. "
    "日本語と English が混ざった文。Ещё немного текста. 🚀🚀🚀",
]


def random_lines(n, seed=20240501):
    rng = random.Random(seed)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " .,;:!?'\"()[]{}<>/\\|-_=+*&^%$#@~`",
        " \t\n\r  ",
        "\u00a0\u3000\u2028\u0085\u180e\u200b\u2009",
        "éèêëàâäôöûüçñßœæøåÉÀÇ",
        "\u0300\u0301\u0302\u0303\u0308\u0323\u0327\u0316\u0344\u093c\u05bc",
        "αβγδεζηθλμπσωΑΒΓΔΩабвгдежзийклмнопрстуфхцчшщыэюяАБВ",
        "ابتثجحخدذرزسشصضطظعغفقكلمنهوي١٢٣",
        "אבגדהוזחטיכלמנסעפצקרשת",
        "अआइईउऊकखगघचछजझटठडढणतथदधनपफबभमयरलवशसह्ािीुूेैोौं",
        "กขคงจฉชซญฎฏฐดตถทธนบปผฝพฟภมยรลวศษสหฬอฮะาิีึืุู",
        "你好世界中文分词器测试数据模型训练推理专家混合",
        "あいうえおかきくけこアイウエオカキクケコ漢字",
        "가나다라마바사아자차카타파하각난닫\u1100\u1161\u11a8",
        "😀👍🏽❤️🚀🎉👨\u200d👩\u200d👧🇯🇵\ufe0f\u200d",
        "\ufffd\ufeff\ue000\U0010ffff\U000e0041\ufffe\U0001d538\U00031350\u1c89\U00010d50",
        "ǅǲᾈﬁΩÅKſ",
    ]
    weights = [30, 8, 10, 8, 2, 5, 3, 5, 3, 2, 3, 2, 5, 3, 3, 4, 2, 1]
    words = ["the", "The", " and", "def", "return", "hello", "world", "'s", "'LL", "it's", "1234567",
             "token", "café", "naïve", "über"]
    lines = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 30)):
            r = rng.random()
            if r < 0.08:
                parts.append(rng.choice(SPECIALS))
            elif r < 0.25:
                parts.append(rng.choice(words))
            else:
                pool = rng.choices(pools, weights)[0]
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 8))))
        lines.append("".join(parts))
    return lines


def corpus():
    return HAND + random_lines(150)
