"""Text pools the generator draws from: real-world mess (scripts, emoji, odd punctuation) on purpose."""

from __future__ import annotations

FIRST = (
    "John",
    "Maria",
    "Иван",
    "Мария",
    "Алексей",
    "王芳",
    "李伟",
    "さくら",
    "Zoë",
    "José",
    "Ana 🌸",
    "Émilie",
    "Oleksandr",
    "Fatima",
    "Chen",
    "O'Brien",
    "Jean-Luc",
    "Ольга",
    "Даниил",
    "Mike",
)
LAST = (
    "Smith",
    "Иванов",
    "Петрова",
    "山田",
    "张",
    "García",
    "Müller",
    "Nguyen",
    "O'Connor",
    "Kowalski",
    "Смирнов",
    "🚀 Rocket",
    "de la Cruz",
    "Ali",
    "Brown",
    "Łukasz",
    "Søren",
    "Тестов",
    "Lee",
    "Jones",
)
TRANSLIT = (
    "john",
    "maria",
    "ivan",
    "mariya",
    "alexey",
    "wang",
    "li",
    "sakura",
    "zoe",
    "jose",
    "ana",
    "emilie",
    "oleksandr",
    "fatima",
    "chen",
    "obrien",
    "jeanluc",
    "olga",
    "daniil",
    "mike",
)
DOMAINS = (
    "gmail.com",
    "yandex.ru",
    "mail.ru",
    "example.com",
    "outlook.com",
    "qq.com",
    "company.io",
    "ACME.COM",
)
COMPANIES = (
    "Acme Corp",
    "ООО Ромашка",  # noqa: RUF001
    "株式会社テスト",
    "Globex",
    "Initech",
    "Umbrella 🌂",
    "Stark Industries",
    "Hooli",
    "",
    "Wayne Enterprises",
)
CITIES = ("Moscow", "Москва", "Boston", "東京", "Berlin", "São Paulo", "Kyiv", "Новосибирск", "")
COUNTRIES = ("Russia", "United States", "Japan", "Germany", "Brazil", "Ukraine", "Россия")
JOBS = ("CEO", "Marketing Manager", "Разработчик", "Sales", "エンジニア", "Founder & CTO", "")
PRODUCTS = ("Annual plan", "Консультация", "Coaching program", "VIP 💎", "Starter", "年間プラン")
LOREM = (
    "Customer asked about pricing. ",
    "Перезвонить завтра. ",
    "折り返し電話が必要です。 ",
    "Left a voicemail 📞. ",
    "Interested in the premium package; send the contract. ",
    "Не отвечает, попробовать позже. ",  # noqa: RUF001
)
