"""A Shanghai-style catalogue of government service, for the simulator and for tests.

Everything here is a pure function of the literal tables below, so codes are stable across
runs and machines: a department's code, a service item's code, a hall's windows and staff
never change unless the tables do.

Code formats (realistic, not real):
- department code: an 18-character 统一社会信用代码 of a government organ ("11" + region +
  9-character organization code + check character), with valid GB 11714 / GB 32100 check
  characters so that validators that verify them accept the codes;
- service code: 事项实施编码 ``<region6>-<12 digits>-<variant>``, e.g. ``310000-010005002000-1``
  (2-digit 事项类型, 4-digit department number, 3-digit item number, 3-digit sub-item);
- region code: 6-digit 行政区划代码 for the city (310000) and its 16 districts, 12-digit
  street-level codes for 社区事务受理服务中心;
- hall ``HL<region6><nn>``, window ``<hall>-W<nn>``, staff ``ST<region6><hall n><window nn><k>``.
"""

from __future__ import annotations

from dataclasses import dataclass

CITY_REGION_CODE = "310000"


# 事项类型 (national 政务服务事项 categories); only the code goes into the service code.
SERVICE_CATEGORIES: dict[str, str] = {
    "01": "行政许可",
    "05": "行政给付",
    "07": "行政确认",
    "10": "其他行政权力",
    "20": "公共服务",
}


@dataclass(frozen=True)
class ServiceItem:
    """One 政务服务事项 as implemented by one department."""

    code: str
    name: str
    category: str  # key of SERVICE_CATEGORIES
    weight: float = 1.0  # relative demand inside its department


@dataclass(frozen=True)
class Department:
    """A department (部门/机构) and the service items it implements."""

    code: str
    name: str
    short_name: str
    region_code: str  # 310000 for city-level departments, the district for district ones
    services: tuple[ServiceItem, ...]
    weight: float = 1.0  # relative share of all evaluations
    enterprise_share: float = 0.1  # share of evaluators that are legal entities


@dataclass(frozen=True)
class District:
    code: str
    name: str
    population_10k: int  # 2020 census, 万人; drives where hall traffic comes from


@dataclass(frozen=True)
class Window:
    code: str
    staff_ids: tuple[str, ...]


@dataclass(frozen=True)
class Hall:
    code: str
    name: str
    region_code: str
    district_code: str
    windows: tuple[Window, ...]


# --- check characters --------------------------------------------------------------------

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organization_code(body: str) -> str:
    """GB 11714 组织机构代码: 8 body characters plus their check character."""
    if len(body) != 8 or not body.isalnum():
        raise ValueError(f"organization code body must be 8 alphanumerics, got {body!r}")
    total = sum(int(ch, 36) * w for ch, w in zip(body.upper(), _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body.upper() + ("X" if check == 10 else "0" if check == 11 else str(check))


def uscc(kind: str, region_code: str, org_body: str) -> str:
    """GB 32100 统一社会信用代码 with its check character.

    `kind` is the two-character registration authority + organization type, e.g. "11" for a
    government organ (机构编制/机关), "91" for a company (工商/企业).
    """
    head = kind + region_code + organization_code(org_body)
    total = sum(_USCC_ALPHABET.index(ch) * w for ch, w in zip(head, _USCC_WEIGHTS, strict=True))
    return head + _USCC_ALPHABET[(31 - total % 31) % 31]


# --- districts, halls, windows -----------------------------------------------------------

DISTRICTS: tuple[District, ...] = (
    District("310101", "黄浦区", 66),
    District("310104", "徐汇区", 111),
    District("310105", "长宁区", 69),
    District("310106", "静安区", 98),
    District("310107", "普陀区", 124),
    District("310109", "虹口区", 76),
    District("310110", "杨浦区", 124),
    District("310112", "闵行区", 265),
    District("310113", "宝山区", 223),
    District("310114", "嘉定区", 183),
    District("310115", "浦东新区", 568),
    District("310116", "金山区", 82),
    District("310117", "松江区", 191),
    District("310118", "青浦区", 127),
    District("310120", "奉贤区", 114),
    District("310151", "崇明区", 64),
)
DISTRICT_BY_CODE: dict[str, District] = {d.code: d for d in DISTRICTS}

# Windows in proportion to the people a district's halls serve: one window per 60,000
# residents in each hall, at least 8 in a centre and 4 in a community hall. A city's evaluations
# (the demo's 8 a second) then reach each window at a human pace, 8–15 people an hour
# (channels/simulation/windows.py), as Shanghai's centres have dozens of windows.
_RESIDENTS_10K_PER_WINDOW = 6
_STAFF_PER_WINDOW = 2


def _hall(district: District, n: int, name: str, region_code: str, windows: int) -> Hall:
    code = f"HL{district.code}{n:02d}"
    return Hall(
        code=code,
        name=name,
        region_code=region_code,
        district_code=district.code,
        windows=tuple(
            Window(
                code=f"{code}-W{w:02d}",
                staff_ids=tuple(
                    f"ST{district.code}{n}{w:02d}{k}" for k in range(1, _STAFF_PER_WINDOW + 1)
                ),
            )
            for w in range(1, windows + 1)
        ),
    )


def _windows(district: District, at_least: int) -> int:
    return max(at_least, district.population_10k // _RESIDENTS_10K_PER_WINDOW)


def _district_halls(district: District) -> tuple[Hall, ...]:
    # Every district has one 行政服务中心 and (in this catalogue) two 社区事务受理服务中心,
    # the latter carrying 12-digit street-level region codes so consumers see both lengths.
    return (
        _hall(district, 1, f"{district.name}行政服务中心", district.code, _windows(district, 8)),
        *(
            _hall(
                district,
                n,
                f"{district.name}第{n - 1}社区事务受理服务中心",
                f"{district.code}{n - 1:03d}000",
                _windows(district, 4),
            )
            for n in (2, 3)
        ),
    )


HALLS_BY_DISTRICT: dict[str, tuple[Hall, ...]] = {d.code: _district_halls(d) for d in DISTRICTS}
HALLS: tuple[Hall, ...] = tuple(h for halls in HALLS_BY_DISTRICT.values() for h in halls)
HALL_BY_CODE: dict[str, Hall] = {h.code: h for h in HALLS}


# --- departments and service items -------------------------------------------------------

# (department number, name, short name, region, weight, enterprise share,
#  [(category, service item name), ...]); the department number is part of every code, so
# rows may be reordered or appended but numbers must never be reused.
_DEPARTMENT_TABLE: tuple[
    tuple[int, str, str, str, float, float, tuple[tuple[str, str], ...]], ...
] = (
    (
        1,
        "上海市公安局出入境管理局",
        "市公安局出入境",
        CITY_REGION_CODE,
        6.0,
        0.02,
        (
            ("01", "内地居民往来港澳通行证及签注签发"),
            ("01", "普通护照签发"),
            ("01", "大陆居民往来台湾通行证及签注签发"),
            ("01", "外国人签证证件延期换发补发"),
            ("20", "出入境记录查询"),
        ),
    ),
    (
        2,
        "上海市公安局交通警察总队",
        "市公安局交警总队",
        CITY_REGION_CODE,
        7.0,
        0.05,
        (
            ("07", "机动车驾驶证期满换证"),
            ("07", "机动车注册登记"),
            ("10", "交通违法处理"),
            ("20", "驾驶人安全文明驾驶常识考试预约"),
        ),
    ),
    (
        3,
        "上海市市场监督管理局",
        "市市场监管局",
        CITY_REGION_CODE,
        9.0,
        0.75,
        (
            ("01", "企业设立登记"),
            ("01", "企业变更登记"),
            ("01", "企业注销登记"),
            ("01", "食品经营许可"),
            ("07", "个体工商户登记"),
            ("01", "药品零售企业许可"),
        ),
    ),
    (
        4,
        "上海市人力资源和社会保障局",
        "市人社局",
        CITY_REGION_CODE,
        12.0,
        0.15,
        (
            ("07", "就业参保登记"),
            ("05", "失业保险金申领"),
            ("20", "社会保障卡申领"),
            ("05", "基本养老保险关系转移接续"),
            ("05", "退休申请及养老金核定"),
            ("07", "专业技术人员职业资格证书核发"),
            ("01", "人力资源服务许可"),
        ),
    ),
    (
        5,
        "上海市医疗保障局",
        "市医保局",
        CITY_REGION_CODE,
        10.0,
        0.05,
        (
            ("20", "异地就医备案"),
            ("05", "医疗费用零星报销"),
            ("20", "基本医疗保险关系转移接续"),
            ("07", "城乡居民基本医疗保险参保登记"),
            ("05", "生育保险待遇申领"),
        ),
    ),
    (
        6,
        "国家税务总局上海市税务局",
        "市税务局",
        CITY_REGION_CODE,
        11.0,
        0.7,
        (
            ("20", "发票领用"),
            ("10", "个人所得税综合所得汇算清缴"),
            ("07", "税务登记信息确认"),
            ("10", "增值税纳税申报"),
            ("20", "开具税收完税证明"),
            ("10", "出口退税申报"),
        ),
    ),
    (
        7,
        "上海市民政局",
        "市民政局",
        CITY_REGION_CODE,
        4.0,
        0.05,
        (
            ("07", "结婚登记"),
            ("07", "离婚登记"),
            ("01", "社会团体成立登记"),
            ("05", "老年综合津贴申领"),
            ("05", "最低生活保障审核确认"),
        ),
    ),
    (
        8,
        "上海市规划和自然资源局",
        "市规划资源局",
        CITY_REGION_CODE,
        5.0,
        0.4,
        (
            ("07", "不动产转移登记（二手房）"),
            ("20", "不动产登记信息查询"),
            ("01", "建设用地规划许可证核发"),
            ("01", "建设工程规划许可证核发"),
            ("07", "不动产抵押登记"),
        ),
    ),
    (
        9,
        "上海市住房和城乡建设管理委员会",
        "市住建委",
        CITY_REGION_CODE,
        4.0,
        0.6,
        (
            ("01", "商品房预售许可"),
            ("01", "建筑工程施工许可证核发"),
            ("20", "住房租赁合同网签备案"),
            ("07", "建设工程竣工验收备案"),
        ),
    ),
    (
        10,
        "上海市交通委员会",
        "市交通委",
        CITY_REGION_CODE,
        3.0,
        0.45,
        (
            ("01", "道路运输经营许可"),
            ("01", "网络预约出租汽车驾驶员证核发"),
            ("07", "道路运输从业人员从业资格证核发"),
            ("20", "非营业性客车额度证明补办"),
        ),
    ),
    (
        11,
        "上海市住房公积金管理中心",
        "市公积金中心",
        CITY_REGION_CODE,
        8.0,
        0.1,
        (
            ("05", "住房公积金提取"),
            ("07", "住房公积金缴存登记"),
            ("05", "住房公积金个人住房贷款"),
            ("20", "住房公积金缴存证明开具"),
        ),
    ),
    (
        12,
        "上海市卫生健康委员会",
        "市卫健委",
        CITY_REGION_CODE,
        3.0,
        0.15,
        (
            ("01", "医师执业注册"),
            ("20", "出生医学证明签发"),
            ("01", "医疗机构执业登记"),
            ("01", "护士执业注册"),
        ),
    ),
    (
        13,
        "上海市教育委员会",
        "市教委",
        CITY_REGION_CODE,
        3.0,
        0.1,
        (
            ("20", "义务教育阶段入学报名"),
            ("07", "教师资格认定"),
            ("20", "学历学位证明开具"),
        ),
    ),
    (
        14,
        "上海市生态环境局",
        "市生态环境局",
        CITY_REGION_CODE,
        2.0,
        0.9,
        (
            ("01", "排污许可证核发"),
            ("01", "建设项目环境影响评价文件审批"),
            ("01", "危险废物经营许可"),
        ),
    ),
    (
        15,
        "黄浦区行政服务中心",
        "黄浦区政务中心",
        "310101",
        3.0,
        0.35,
        (
            ("20", "居住证办理"),
            ("07", "新生儿出生登记"),
            ("01", "开办企业一窗通"),
            ("05", "社会救助申请"),
        ),
    ),
    (
        16,
        "徐汇区行政服务中心",
        "徐汇区政务中心",
        "310104",
        3.5,
        0.35,
        (
            ("20", "居住证办理"),
            ("07", "新生儿出生登记"),
            ("01", "开办企业一窗通"),
            ("01", "公共场所卫生许可"),
        ),
    ),
    (
        17,
        "浦东新区企业服务中心",
        "浦东新区企业服务中心",
        "310115",
        6.0,
        0.8,
        (
            ("01", "开办企业一窗通"),
            ("01", "建设工程施工许可"),
            ("01", "酒类商品零售许可"),
            ("20", "外商投资企业信息报告"),
            ("01", "人力资源服务许可"),
        ),
    ),
    (
        18,
        "闵行区行政服务中心",
        "闵行区政务中心",
        "310112",
        4.0,
        0.3,
        (
            ("20", "居住证办理"),
            ("07", "新生儿出生登记"),
            ("05", "社会救助申请"),
            ("01", "开办企业一窗通"),
        ),
    ),
)


def _service_weight(index: int) -> float:
    # Demand inside a department is skewed: the first items (the catalogue lists the busiest
    # first) take most of the traffic, like real 事项 usage.
    return round(1.0 / (index + 1) ** 0.8, 4)


def _department(
    number: int,
    name: str,
    short_name: str,
    region_code: str,
    weight: float,
    enterprise_share: float,
    items: tuple[tuple[str, str], ...],
) -> Department:
    body = f"{int(region_code) % 10000:04d}{number:04d}"
    return Department(
        code=uscc("11", region_code, body),
        name=name,
        short_name=short_name,
        region_code=region_code,
        services=tuple(
            ServiceItem(
                code=f"{region_code}-{category}{number:04d}{i + 1:03d}000-1",
                name=item_name,
                category=category,
                weight=_service_weight(i),
            )
            for i, (category, item_name) in enumerate(items)
        ),
        weight=weight,
        enterprise_share=enterprise_share,
    )


DEPARTMENTS: tuple[Department, ...] = tuple(_department(*row) for row in _DEPARTMENT_TABLE)
# names by code, for what ingest stores: a known code's name is the catalogue's, whatever a
# channel sent (issue 29)
DEPARTMENT_NAMES: dict[str, str] = {d.code: d.name for d in DEPARTMENTS}
SERVICE_NAMES: dict[str, str] = {s.code: s.name for d in DEPARTMENTS for s in d.services}


# --- synthetic departments for scale tests ---------------------------------------------

_SYNTHETIC_ITEMS = (
    ("01", "许可类事项"),
    ("07", "登记确认类事项"),
    ("05", "待遇给付类事项"),
    ("20", "证明开具类事项"),
    ("20", "信息查询类事项"),
    ("10", "申报备案类事项"),
    ("01", "资格认定类事项"),
    ("05", "补贴申领类事项"),
)
# Synthetic department numbers start here so they can never collide with the real table.
_SYNTHETIC_BASE = 5000


def synthetic_departments(n: int) -> list[Department]:
    """`n` made-up departments for large-scale tests ("200 departments").

    Department i is the same whatever `n` is (the list for n=50 is a prefix of the list for
    n=200), its codes never collide with the catalogue's, and it has 3–8 service items.
    Districts are assigned round-robin; traffic weights vary mildly (1–5) so every department
    still gets evaluations in a modest sample.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    result: list[Department] = []
    for i in range(n):
        number = _SYNTHETIC_BASE + i
        district = DISTRICTS[i % len(DISTRICTS)]
        item_count = 3 + (i * 7) % 6
        body = f"8{number:07d}"  # digits only: every character must be valid in a USCC
        result.append(
            Department(
                code=uscc("11", district.code, body),
                name=f"{district.name}合成测试部门{i + 1:04d}",
                short_name=f"合成部门{i + 1:04d}",
                region_code=district.code,
                services=tuple(
                    ServiceItem(
                        code=f"{district.code}-{cat}{number:06d}{j + 1:02d}00-1",
                        name=f"{item}{j + 1}（合成{i + 1:04d}）",
                        category=cat,
                        weight=_service_weight(j),
                    )
                    for j, (cat, item) in enumerate(_SYNTHETIC_ITEMS[:item_count])
                ),
                weight=float(1 + i % 5),
                enterprise_share=0.2,
            )
        )
    return result
