# ruff: noqa: RUF001 - look-alike punctuation and letters are the point of these pools
"""Text pools for the generated tickets and comments.

Real support desks hold every script and every awkward character a customer can type, so the
pools mix emoji (with joiners and skin tones), CJK, right-to-left scripts, combining marks,
quotes, backslashes, tabs and CR/LF newlines. A loader that mangles any of these shows it
against the sandbox first.
"""

SUBJECT_PREFIXES: tuple[str, ...] = ("", "", "", "Re: ", "Fwd: ", "[Acme] ", "AW: ", "回复：")
SUBJECTS: tuple[str, ...] = (
    "Can't log in after password reset",
    "Invoice shows the wrong VAT number",
    'Export to CSV drops the "notes" column',
    "App crashes when I open settings 😡",
    "Rechnung fehlt für März – bitte erneut senden",
    "Commande non reçue, numéro de suivi invalide",
    "注文した商品がまだ届きません",
    "订单状态一直显示“处理中”",
    "결제가 두 번 청구되었습니다",
    "لا أستطيع تسجيل الدخول إلى حسابي",
    "ההזמנה שלי לא הגיעה",
    "Заказ не пришёл, трек-номер не работает",
    "Path C:\\Users\\Public\\export fails",
    "🔥 URGENT: checkout is down 🔥",
    "Refund request 👩\u200d💻 (order 4411)",
    "Feature request: dark mode 🌙",
    "Two-factor codes arrive late",
    "Señal perdida después de la actualización",
    "Zugangsdaten funktionieren nicht mehr",
    "Question about the 'Pro' plan's limits",
    "Cannot upload files > 10 MB",
    "Webhook retries flood our endpoint",
    "Łódź office: printer offline",
    "Ticket from mobile 📱👍🏽",
    "Naïve café menu shows “???” instead of accents",
    "Tab\tseparated\tvalues break the import",
    "SSO via Okta loops back to login",
    "Data residency question (EU 🇪🇺)",
    "मेरा खाता लॉक हो गया है",
    "Η παραγγελία μου καθυστερεί",
)

PARAGRAPHS: tuple[str, ...] = (
    "Hi team,\nI tried again this morning and it still fails. Screenshot attached.",
    'Hello,\r\nThe error says: {"code": 500, "detail": "unexpected"}.\r\nThanks!',
    "We have 40 agents blocked by this. Please escalate 🙏",
    "Bonjour, je n'arrive pas à accéder à mon compte depuis hier soir.",
    "お世話になっております。昨日から同じエラーが表示されます。",
    "您好，我们的账户在更新后无法同步数据，请尽快处理。",
    "مرحبًا، ما زالت المشكلة قائمة بعد إعادة التشغيل. شكرًا لكم.",
    "שלום, ניסיתי שוב והבעיה עדיין קיימת.",
    "Здравствуйте! Проблема повторяется каждый день около 9:00.",
    'Steps:\n1. Open settings\n2. Click "Save"\n3. Nothing happens',
    "The log line reads: C:\\Program Files\\App\\bin\\app.exe exited with 0xC0000005",
    "Regex in our rule: ^\\d{3}-\\d{4}$ — it used to match.",
    "Ça marche pas 🤷\u200d♀️ (again)",
    "Zalgo test: Z\u0336\u0335a\u0337l\u0338g\u0334o\u0335 \u0301\u0302\u0303",
    "Family emoji 👨\u200d👩\u200d👧\u200d👦 renders as four people in the export.",
    "Quote from the customer: 'it's \"broken\" again', said O'Brien.",
    "Tab\tindented\tcolumns\tfrom a spreadsheet paste.",
    "Mixed direction: order #1234 ← הזמנה → طلب 5678.",
    "Hindi: नमस्ते, मुझे अपने बिल के बारे में मदद चाहिए।",
    "Korean: 안녕하세요, 환불 요청드립니다.",
    "Thai: สวัสดีครับ ระบบช้ามากวันนี้",
    "Math: ∑ x² ≤ ∞, price €12.50 ≈ $13.60 ≈ ¥1,980.",
    "Thanks, that fixed it! ✅",
    "Could you confirm the new renewal date?",
    "Attaching the HAR file.\n\n-- \nSent from my phone",
)

TAGS: tuple[str, ...] = (
    "billing",
    "login",
    "bug",
    "feature_request",
    "vip",
    "réclamation",
    "紧急",
    "返金",
    "mobile",
    "api",
    "churn-risk",
    "🔥",
)

PLANS: tuple[str | None, ...] = ("free", "pro", "enterprise", None)
REGIONS: tuple[str, ...] = ("EU", "US", "APAC", "LATAM", "🌏 other")
SLA_HOURS: tuple[int | float, ...] = (4, 8, 24, 72, 1.5, 0.25)
CHANNELS: tuple[str, ...] = ("email", "web", "chat", "api", "phone")
STATUSES: tuple[str, ...] = ("new", "open", "pending", "solved", "closed")
PRIORITIES: tuple[str | None, ...] = ("low", "normal", "normal", "high", "urgent", None, None)
