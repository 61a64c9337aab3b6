"""What /guidance is not for: short examples of questions outside social-media conduct
that members of a health community ask in the same words (patients, posts, reviews,
registration, accounts). A question nearer to one of these than to any entry is not
answered. Written for the tuning part of the evaluation set, in our own words; never
taken from the held-out part (benchmarks/guidance/README.md says how the sets were made).
"""

OUT_OF_SCOPE = (
    # clinical practice
    "what exercises should I give a patient after knee surgery",
    "how do I treat lower back pain in an older adult",
    "what is the right dose of this medication",
    "how should I manage a patient with a frozen shoulder",
    "interpreting an x-ray or scan result for a diagnosis",
    # pay, rotas and employment
    "how much is my salary on this pay band",
    "can my manager change my rota or make me work nights",
    "how do I book annual leave or swap a shift",
    "what are my rights in a disciplinary meeting at work",
    "how do I join a union or what are the union fees",
    # registration, CPD and study
    "how do I renew my registration and how much is the fee",
    "how many hours of CPD do I need and how do I log them",
    "how do I prepare for my exam or interview",
    # this Discord server and this bot
    "how do I mute or leave a channel on this discord server",
    "how do I change my nickname or role on this server",
    "how do I use this bot or report a bug in it",
    # social media as marketing and tech support
    "how do I grow my followers and get more engagement",
    "what is the best time to post and which hashtags get more reach",
    "how do I schedule posts or edit a video for reels",
    "my account was hacked, how do I get it back",
    "my computer or app keeps crashing, how do I fix it",
    "what software should my clinic use for booking and billing",
    # records and admin
    "how do I write a case report or get published in a journal",
    "how do I send patient records securely to another hospital",
    "the incident reporting form on the hospital system keeps timing out",
    "how do I set up my business, tax and insurance",
    "can I claim tax relief or expenses for my uniform",
    # careers and applications
    "which masters course or specialty should I choose",
    "what should I write in my personal statement or CV",
    "how do I post a job advert to recruit staff",
    "how do I recruit participants for my research study",
    # platform features and set-up
    "how do I get a verified blue tick for my page",
    "how do I set up a business account with opening hours and auto replies",
    "my video call camera is not working for a telehealth appointment",
    "which phone camera settings take the clearest clinical photos for the notes",
    # near misses seen in the tuning parts (2026-12-03)
    "accepting money or a gift from a grateful patient",
    "can I secretly record a meeting with my manager",
    "what microphone, lighting and camera should I buy to film videos",
    "how the linkedin algorithm works and how to get more views",
    "dating a coworker and whether I must tell my manager",
    "does a social media course count towards my continuing education credits",
    "how to manage a clinical condition I saw discussed on social media",
)
