"""What simulated evaluations say: channel mix, tags and comments by level, score indicators,
and the personal data a careless citizen writes into a comment."""

from __future__ import annotations

from typing import Final

from schemas.codes import REVIEW_TAGS

SOURCE: Final = "simulator"


CHANNEL_MIX: Final[dict[str, float]] = {
    "web": 0.35,
    "app": 0.30,
    "counter": 0.15,
    "qrcode": 0.10,
    "kiosk": 0.04,
    "hotline": 0.04,
    "sms": 0.02,
}


HALL_CHANNELS: Final = frozenset({"counter", "qrcode", "kiosk"})


# Bad reviews are not evenly spread: people rate a system that failed them online more
# harshly than a clerk sitting in front of them. Normalized below so the overall bad rate is
# still the configured one for the nominal channel mix.
_CHANNEL_BAD_FACTOR: Final[dict[str, float]] = {
    "web": 1.25,
    "app": 1.1,
    "counter": 0.55,
    "qrcode": 0.8,
    "kiosk": 1.0,
    "hotline": 1.4,
    "sms": 0.8,
}


# National 好差评 review tags (first digit = level) come from the contract table, so the
# simulator can only ever emit codes ingest accepts.
TAGS_BY_LEVEL: Final[dict[int, tuple[str, ...]]] = {
    level: tuple(sorted(code for code, tag in REVIEW_TAGS.items() if tag.level == level))
    for level in range(1, 6)
}


# Tags that describe an outage or a queue, what a surge of complaints is made of.
SURGE_TAGS: Final[dict[int, tuple[str, ...]]] = {
    1: ("110", "113", "115", "112"),
    2: ("211", "212", "213", "214"),
}


SCORE_INDICATORS_ONLINE: Final = ("efficiency", "guidance", "convenience", "usability")


SCORE_INDICATORS_HALL: Final = ("efficiency", "attitude", "competence", "guidance")


_COMMENTS: Final[dict[int, tuple[str, ...]]] = {
    5: (
        "办事效率很高，工作人员很耐心",
        "全程网上办理，不用跑腿，点赞",
        "一次就办好了，非常方便",
        "窗口工作人员态度很好，讲解很清楚",
        "材料一次性告知，效率高",
        "手机上就能办，太方便了",
        "比以前快多了，当天就拿到结果",
        "服务很贴心，主动帮忙填表",
    ),
    4: (
        "整体挺顺利的，就是排队稍微久一点",
        "办理比较快，指南写得清楚",
        "还不错，希望页面再简洁一些",
        "工作人员比较热情",
        "预约后到现场很快就办好了",
    ),
    3: (
        "还行吧，等的时间有点长",
        "能办成，但是流程有点复杂",
        "页面有点卡，最后还是提交成功了",
        "材料清单可以再写清楚一点",
        "一般，没有想象中快",
    ),
    2: (
        "材料要求不清楚，补了两次材料",
        "网上说能办，结果还是要跑现场",
        "窗口人员对业务不熟悉，问了几个人才搞清楚",
        "超过承诺时间了还没办结",
        "预约了到现场还要重新取号排队",
        "工作人员态度比较生硬",
    ),
    1: (
        "材料要求不清楚，跑了三次还没办成",
        "系统一直登录不上",
        "多个窗口来回跑，互相推诿",
        "已经超过法定时限了，没有任何解释",
        "工作人员态度很差，效率太低",
        "上传材料一直失败，打电话也没人接",
        "要求提供办事指南里没有的证明材料",
    ),
}


_SURGE_COMMENTS_ONLINE: Final = (
    "系统一直登录不上",
    "网上申报页面一直报错，提交不了",
    "上传材料一直失败，反复试了好几次",
    "一网通办显示系统繁忙，请稍后再试，等了一上午",
    "提交后一直显示审核中，超过时限了还没结果",
    "电子证照调取失败，只能去现场",
)


_SURGE_COMMENTS_HALL: Final = (
    "排队两个多小时还没轮到",
    "系统故障，窗口说今天办不了，白跑一趟",
    "预约了到现场还要重新取号排队",
    "窗口只开了两个，人太多了",
    "让我去别的窗口，跑了三个窗口还没办成",
)


_SURNAMES: Final = ("zhang", "wang", "li", "zhao", "chen", "liu", "yang", "huang", "wu", "zhou")


_MAIL_DOMAINS: Final = ("qq.com", "163.com", "126.com", "sina.com", "example.com")


_MOBILE_PREFIXES: Final = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150",
    "151", "152", "155", "156", "157", "158", "159", "166", "176", "177",
    "180", "181", "182", "183", "185", "186", "187", "188", "189", "199",
)  # fmt: skip


# what a 恶意差评 campaign writes: abuse, or nothing to do with the service
CAMPAIGN_COMMENTS: Final = (
    "垃圾部门，一群废物",
    "什么狗官，办事的都是饭桶",
    "窗口的人都是白痴，猪脑子",
    "垃圾服务，人渣",
    "代办包过，加微信 banzheng888",
    "低息贷款，点击链接 www.dk-kuai.cn",
    "兼职刷单日结，加v 5566",
    "一帮蠢货，滚蛋",
)
