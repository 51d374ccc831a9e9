/*
 * Dibao audit console: a small, dependency-free client of the GraphQL API.
 *
 * Safe by default under a strict CSP (script-src 'self'; style-src 'self'):
 * no inline scripts or styles, no eval, no innerHTML with API data (the DOM is
 * built with createElement/textContent), no element.style (classes and SVG
 * attributes only). The bearer token lives in sessionStorage and is sent only
 * in the Authorization header of POST /graphql, never in a URL.
 */
(function () {
  'use strict';

  var TOKEN_KEY = 'dibao.console.token';
  var LANG_KEY = 'dibao.console.lang';
  var PAGE_SIZE = 50;
  var EXPORT_PAGE_SIZE = 50;  // priced by the cost model: each entry may name every field of the schema
  var EXPORT_FILE = 'audit-export.jsonl';
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var HOUR_MS = 3600 * 1000;
  var DAY_MS = 24 * HOUR_MS;
  var BEIJING_OFFSET_MS = 8 * HOUR_MS; // Asia/Shanghai has no daylight saving time
  var SERIES_COLOURS = 8; // classes s0..s7, then s-other

  var ROLES = ['caseworker', 'county_reviewer', 'finance_officer', 'supervisor', 'partner',
    'auditor', 'secadmin', 'sysadmin'];
  var OUTCOMES = ['allowed', 'masked', 'denied', 'invalid', 'too_complex', 'unauthenticated',
    'failed', 'refused', 'rate_limited'];
  var RANGES = [
    { key: '24h', hours: 24 },
    { key: '7d', hours: 7 * 24 },
    { key: '30d', hours: 30 * 24 },
    { key: '90d', hours: 90 * 24 }
  ];

  var EVENT_FIELDS = 'seq time principal role scope credentialId client operationType ' +
    'operationName documentHash variables fields { field decision } archiveNos outcome ' +
    'errorCodes durationMs traceId';
  var EVENTS_QUERY =
    'query Events($principal: String, $role: String, $archiveNo: String, $outcome: String, ' +
    '$since: DateTime, $until: DateTime, $first: Int, $after: String, ' +
    '$lookedUpIdNumber: String) { ' +
    'auditEvents(principal: $principal, role: $role, archiveNo: $archiveNo, outcome: $outcome, ' +
    'since: $since, until: $until, first: $first, after: $after, ' +
    'lookedUpIdNumber: $lookedUpIdNumber) { ' +
    'edges { cursor node { ' + EVENT_FIELDS + ' } } pageInfo { hasNextPage endCursor } } }';
  var ACTIVITY_QUERY =
    'query Activity($since: DateTime!, $until: DateTime!, $bucket: Bucket!, $by: Grouping!) { ' +
    'auditActivity(since: $since, until: $until, bucket: $bucket, by: $by) { start key count } }';
  var RUN_FIELDS = 'at ok entries firstBad reason by';
  var CHAIN_QUERY =
    'query Chain { auditChain { entries headSeq lastVerification { ' + RUN_FIELDS + ' } } }';
  var VERIFY_MUTATION = 'mutation Verify { verifyAuditChain { ' + RUN_FIELDS + ' } }';
  // one aggregate per document (the cost model prices the lists as a scan): the lists
  // in one request, the due date and the recorded reviews in another
  var CREDENTIAL_FIELDS = 'id principal role region expiresAt lastUsedAt';
  var REVIEW_QUERY =
    'query Review($days: Int) { permissionReview(unusedDays: $days) { unusedDays ' +
    'unused { ' + CREDENTIAL_FIELDS + ' } expiring { ' + CREDENTIAL_FIELDS + ' } ' +
    'broaderThanUse { credential { id principal role region } usedRegion householdsRead30d } ' +
    'policyDifferences { change changedBy changedAt ' +
    'rule { kind subject scope object action effect role } } } }';
  var REVIEW_HISTORY_QUERY =
    'query Reviews { permissionReviewDue { lastReviewAt lastReviewer periodDays dueAt overdue } ' +
    'permissionReviews(first: 20) { edges { node { id at reviewer note unused expiring ' +
    'broaderThanUse policyDifferences } } } }';
  var RECORD_MUTATION =
    'mutation Record($note: String!) { recordPermissionReview(note: $note) { id } }';
  // misuse alerts: the API keeps no cursor here, only the newest N (at most 200)
  var ALERTS_NEWEST = 200;
  var ALERT_STATUSES = ['OPEN', 'ACKNOWLEDGED', 'ALL'];
  var ALERT_RULES = ['BULK_READS', 'LOOKUP_MISSES', 'REFUSALS', 'OFF_HOURS', 'NEW_CLIENT'];
  var ALERT_FIELDS = 'id rule principal role windowStart count evidence raisedAt status ' +
    'acknowledgedBy acknowledgedAt note';
  var ALERTS_QUERY =
    'query Alerts($status: AlertStatus, $newest: Int!) { alerts(status: $status, newest: $newest) { ' +
    ALERT_FIELDS + ' } alertThresholds { rule role threshold } }';
  var ACK_MUTATION =
    'mutation Acknowledge($id: ID!, $note: String!) { acknowledgeAlert(id: $id, note: $note) { ' +
    ALERT_FIELDS + ' } }';
  // the register of exports: the newest files taken out of the archive
  var EXPORTS_NEWEST = 200;
  var EXPORTS_QUERY =
    'query Exports($newest: Int!) { exports(newest: $newest) { ' +
    'id kind format principal role scope batchId region rowCount sha256 createdAt } }';
  // an evidence entry is looked for over this many pages of its principal's events
  var EVIDENCE_PAGES = 10;
  // policy proposals (four eyes): read only for the auditor
  var PROPOSAL_STATUSES = ['PENDING', 'APPROVED', 'REJECTED', 'WITHDRAWN', 'ALL'];
  var RULE_FIELDS = 'kind subject scope object action effect role';
  var PROPOSALS_QUERY =
    'query Proposals($status: ProposalStatus) { policyProposals(status: $status) { ' +
    'id proposer proposedAt status decidedBy decidedAt note widenedCount ' +
    'adds { ' + RULE_FIELDS + ' } removes { ' + RULE_FIELDS + ' } ' +
    'widened { role scope object before after } } }';
  var WIDENINGS_SHOWN = 5;  // the first ones in the table; the count says how many in all
  // verification (核对) per partner department of one county: counts only
  var DEPARTMENTS = ['PUBLIC_SECURITY', 'HUMAN_RESOURCES', 'NATURAL_RESOURCES',
    'MARKET_REGULATION', 'TAX', 'HOUSING_FUND', 'BANK'];
  var VERIFICATION_COUNTS = ['received', 'answered', 'withdrawn', 'pending', 'overdue'];
  var VERIFICATION_QUERY =
    'query Verification($county: String!) { verificationActivity(county: $county) { ' +
    'department received answered withdrawn pending overdue } }';

  /* ------------------------------------------------------------------ i18n */

  var I18N = {
    zh: {
      'title': '低保档案审计控制台',
      'lang.other': 'English',
      'logout': '退出',
      'login.heading': '使用审计员令牌登录',
      'login.hint': '令牌只保存在本浏览器标签页的会话存储中，关闭标签页即清除。',
      'login.token': '访问令牌 (Bearer)',
      'login.submit': '登录',
      'login.empty': '请粘贴访问令牌。',
      'login.malformed': '令牌格式不正确。',
      'login.invalid': '令牌无效、已过期或已吊销 (UNAUTHENTICATED)。',
      'login.expired': '会话已失效，请重新登录。',
      'forbidden.heading': '无权限',
      'forbidden.text': '此令牌无权查看审计日志：只有审计员 (auditor) 角色可以使用本控制台。本次尝试已被记录。',
      'forbidden.switch': '使用其他令牌',
      'nav.label': '视图',
      'nav.events': '审计事件',
      'nav.activity': '拒绝与失败趋势',
      'nav.chain': '日志链状态',
      'nav.review': '权限审查',
      'nav.alerts': '告警',
      'nav.proposals': '策略变更提案',
      'nav.verification': '核对活动',
      'verification.legend': '县级发出的家庭经济状况核对请求（按部门）',
      'verification.county': '县级区划代码（6 位）',
      'verification.refresh': '查询',
      'verification.hint': '只显示数量：每个部门收到、已答复、已撤回、待答复和逾期（超过答复期限的工作日）的请求。查看某人的身份证号被哪个部门看过，请在“审计事件”中按身份证号查询。',
      'verification.department': '部门',
      'verification.received': '收到',
      'verification.answered': '已答复',
      'verification.withdrawn': '已撤回',
      'verification.pending': '待答复',
      'verification.overdue': '逾期',
      'verification.total': '合计',
      'verification.empty': '该县没有发出核对请求。',
      'verification.badCounty': '请输入 6 位县级区划代码。',
      'verification.loading': '正在加载核对活动…',
      'verification.loaded': '{county}：{n} 个部门有核对请求，逾期 {overdue} 件。',
      'department.PUBLIC_SECURITY': '公安（户籍、车辆）',
      'department.HUMAN_RESOURCES': '人力资源社会保障（社保、就业、养老金）',
      'department.NATURAL_RESOURCES': '自然资源（不动产）',
      'department.MARKET_REGULATION': '市场监管（市场主体）',
      'department.TAX': '税务',
      'department.HOUSING_FUND': '住房公积金',
      'department.BANK': '银行（存款）',
      'nav.exports': '导出文件',
      'exports.legend': '导出的文件（最新在前）：谁导出了哪个文件，何时，文件的 SHA-256',
      'exports.refresh': '刷新',
      'exports.at': '时间',
      'exports.kind': '类型',
      'exports.of': '对象',
      'exports.rows': '行数',
      'exports.sha256': 'SHA-256',
      'exports.batch': '批次 {id}',
      'exports.region': '地区 {code}',
      'exports.loading': '正在加载导出记录…',
      'exports.loaded': '已加载 {n} 条导出记录。',
      'exports.none': '还没有导出记录。',
      'export.PAYMENT_ROLL': '发放名册',
      'export.PUBLIC_LIST': '公示名单',
      'export.STATISTICAL_RETURN': '统计报表',
      'export.STAFF_ASSESSMENT': '考核',
      'alerts.legend': '滥用告警（最新在前）',
      'alerts.status': '状态',
      'alerts.refresh': '刷新',
      'alerts.rule': '规则',
      'alerts.hour': '时段（北京时间）',
      'alerts.hourValue': '{start} 起一小时',
      'alerts.count': '次数',
      'alerts.evidence': '证据（审计序号）',
      'alerts.evidenceTitle': '在审计事件中查看 #{seq}',
      'alerts.handled': '确认人 / 确认意见',
      'alerts.action': '操作',
      'alerts.ack': '确认…',
      'alerts.ackHeading': '确认告警：{rule}，{principal}，{hour}',
      'alerts.note': '确认意见（必填：查明了什么，做了什么）',
      'alerts.ackSubmit': '确认告警',
      'alerts.ackCancel': '取消',
      'alerts.emptyNote': '请填写确认意见。',
      'alerts.acknowledged': '告警已确认。',
      'alerts.empty': '没有符合条件的告警。',
      'alerts.loading': '正在加载告警…',
      'alerts.loaded': '已加载 {n} 条告警。',
      'alerts.truncated': '只显示最新的 {n} 条告警。',
      'alerts.thresholds': '告警阈值（每小时次数；只读，由安全管理员通过接口设置）',
      'alerts.threshold': '阈值',
      'alerts.off': '0（关闭）',
      'alerts.anyRole': '其他所有角色 (*)',
      'alerts.finding': '正在审计事件中查找 #{seq}…',
      'alerts.found': '已打开审计事件 #{seq}。',
      'alerts.notFound': '在该主体 {principal} 的事件中未找到 #{seq}，已列出其在该时段及之前的事件。',
      'alertStatus.OPEN': '待处理',
      'alertStatus.ACKNOWLEDGED': '已确认',
      'alertStatus.ALL': '（全部）',
      'rule.BULK_READS': '批量读取',
      'rule.LOOKUP_MISSES': '查询未命中',
      'rule.REFUSALS': '多次被拒',
      'rule.OFF_HOURS': '非工作时间访问',
      'rule.NEW_CLIENT': '新客户端地址',
      'ackError.BAD_USER_INPUT': '确认意见不符合要求',
      'ackError.CONFLICT': '该告警已被确认（可能已由其他审计员处理），列表已刷新',
      'ackError.NOT_FOUND': '该告警不存在，列表已刷新',
      'ackError.FORBIDDEN': '无权限：只有审计员可以确认告警',
      'ackError.other': '确认失败',
      'code.BAD_USER_INPUT': '输入有误',
      'code.CONFLICT': '冲突',
      'code.NOT_FOUND': '未找到',
      'code.FORBIDDEN': '无权限',
      'code.TOO_COMPLEX': '查询过于复杂',
      'code.RATE_LIMITED': '超出频率限制',
      'code.UNAUTHENTICATED': '未认证',
      'proposals.legend': '放宽访问的策略变更（四眼原则，最新在前）',
      'proposals.status': '状态',
      'proposals.refresh': '刷新',
      'proposals.hint': '审计员只读：提案由一名安全管理员提出，须由另一名安全管理员批准后才生效。',
      'proposals.proposer': '提议人',
      'proposals.proposedAt': '提议时间',
      'proposals.adds': '新增规则',
      'proposals.removes': '删除规则',
      'proposals.widened': '放宽的决定',
      'proposals.widenedCount': '共 {n} 项',
      'proposals.widenedMore': '另有 {n} 项未列出',
      'proposals.widening': '{role} · 范围 {scope} · {object}：{before} → {after}',
      'proposals.decider': '决定人 / 时间',
      'proposals.note': '决定意见',
      'proposals.empty': '没有符合条件的提案。',
      'proposals.loading': '正在加载策略变更提案…',
      'proposals.loaded': '已加载 {n} 条提案。',
      'proposalStatus.PENDING': '待审批',
      'proposalStatus.APPROVED': '已批准',
      'proposalStatus.REJECTED': '已驳回',
      'proposalStatus.WITHDRAWN': '已撤回',
      'proposalStatus.ALL': '（全部）',
      'review.legend': '审查范围',
      'review.unusedDays': '未使用天数',
      'review.refresh': '刷新',
      'review.unused': '长期未使用的凭据',
      'review.expiring': '14 天内到期的凭据',
      'review.broader': '范围大于实际使用的凭据（近 30 天）',
      'review.policy': '与出厂策略不同的规则',
      'review.id': '凭据编号',
      'review.region': '区域范围',
      'review.lastUsed': '最近使用',
      'review.expires': '到期时间',
      'review.usedRegion': '实际使用区域',
      'review.households': '读取户数',
      'review.change': '变更',
      'review.rule': '规则',
      'review.changedBy': '变更人',
      'review.changedAt': '变更时间',
      'review.added': '新增',
      'review.removed': '删除',
      'review.unknown': '无记录（在接口之外修改）',
      'review.never': '从未使用',
      'review.none': '无',
      'review.record': '记录本次审查',
      'review.note': '审查意见',
      'review.submit': '记录审查',
      'review.history': '审查记录',
      'review.reviewer': '审查人',
      'review.seen': '所见（未使用 / 到期 / 范围过大 / 策略差异）',
      'review.overdue': '审查已逾期：请进行权限审查',
      'review.neverReviewed': '尚未进行过权限审查',
      'review.upToDate': '审查未逾期，下次审查截止 {due}',
      'review.lastAt': '上次审查时间',
      'review.lastBy': '上次审查人',
      'review.dueAt': '下次审查截止',
      'review.period': '审查周期（天）',
      'review.loading': '正在加载权限审查…',
      'review.recorded': '审查已记录。',
      'review.emptyNote': '请填写审查意见。',
      'archive.label': '谁访问了这户档案？输入档案编号',
      'archive.submit': '查询访问记录',
      'filters.legend': '筛选条件',
      'filters.apply': '查询',
      'filters.reset': '清除条件',
      'filters.any': '（全部）',
      'filters.badTime': '时间格式不正确：{name}',
      'filters.none': '当前条件：全部事件（最新在前）',
      'filters.current': '当前条件：{list}（最新在前）',
      'filters.archiveMode': '档案 {archive} 的访问记录（最新在前）',
      'field.seq': '序号',
      'field.time': '时间',
      'field.principal': '主体',
      'field.role': '角色',
      'field.scope': '区域范围',
      'field.credentialId': '凭据 ID',
      'field.client': '客户端',
      'field.operation': '操作',
      'field.operationType': '操作类型',
      'field.operationName': '操作名称',
      'field.documentHash': '文档哈希',
      'field.variables': '变量 (JSON)',
      'field.archiveNo': '档案编号',
      'field.person': '身份证号（谁查询或核对过此人）',
      'filters.personGiven': '按身份证号查找（号码不显示，仅以盲索引检索）',
      'field.archiveNos': '档案编号',
      'field.outcome': '结果',
      'field.errorCodes': '错误码',
      'field.durationMs': '耗时',
      'field.traceId': '追踪 ID',
      'field.since': '起始时间（北京时间）',
      'field.until': '截止时间（北京时间，不含）',
      'events.caption': '审计事件（最新在前）',
      'events.detail': '详情',
      'events.open': '详情',
      'events.empty': '没有符合条件的事件。',
      'events.loading': '正在加载审计事件…',
      'events.loaded': '已加载 {n} 条事件。',
      'pager.first': '第一页',
      'pager.prev': '上一页',
      'pager.next': '下一页',
      'pager.label': '第 {page} 页',
      'detail.heading': '事件 #{seq}',
      'detail.back': '返回列表',
      'detail.fields': '涉及字段与决定',
      'detail.field': '字段',
      'detail.decision': '决定',
      'detail.noFields': '（无）',
      'detail.ms': '{ms} 毫秒',
      'detail.whoAccessed': '查看此档案的全部访问记录',
      'export.button': '导出 JSON Lines',
      'export.progress': '正在导出：已取得 {n} 条…',
      'export.done': '已导出 {n} 条到 {file}。',
      'activity.legend': '拒绝与失败的请求（被拒、未认证、失败、过于复杂、无效）',
      'activity.range': '时间范围',
      'activity.bucket': '时间粒度',
      'activity.by': '分组',
      'activity.refresh': '刷新',
      'activity.table': '数据表',
      'activity.start': '时段开始（北京时间）',
      'activity.key': '主体 / 角色',
      'activity.count': '次数',
      'activity.loading': '正在加载趋势…',
      'activity.empty': '该时段内没有拒绝或失败的请求。',
      'activity.summary': '共 {total} 次拒绝或失败；峰值 {peak} 次，时段 {at}（最多：{key}）。',
      'activity.spikes': '异常高峰 {n} 个（高于平均值两个标准差，虚线框标出）。',
      'activity.chartLabel': '拒绝与失败请求柱状图',
      'range.24h': '最近 24 小时',
      'range.7d': '最近 7 天',
      'range.30d': '最近 30 天',
      'range.90d': '最近 90 天',
      'bucket.HOUR': '按小时',
      'bucket.DAY': '按天',
      'by.PRINCIPAL': '按主体',
      'by.ROLE': '按角色',
      'series.other': '其他',
      'chain.verify': '立即验证日志链',
      'chain.refresh': '刷新',
      'chain.entries': '条目数',
      'chain.headSeq': '链头序号',
      'chain.lastAt': '最近验证时间',
      'chain.lastResult': '最近验证结果',
      'chain.lastEntries': '已验证条目',
      'chain.firstBad': '首个异常条目',
      'chain.reason': '原因',
      'chain.by': '验证人',
      'chain.never': '尚未验证',
      'chain.intact': '完整',
      'chain.broken': '已损坏',
      'chain.intactVerdict': '完整：已验证 {n} 条记录',
      'chain.brokenVerdict': '已损坏：首个异常条目 #{bad}',
      'chain.verifying': '正在验证日志链…',
      'chain.verified': '验证完成。',
      'chain.loading': '正在加载日志链状态…',
      'error.network': '无法连接服务器。',
      'error.http': '服务器返回 HTTP {status}。',
      'none': '—',
      'role.caseworker': '乡镇经办人',
      'role.county_reviewer': '县级审核员',
      'role.finance_officer': '财务人员',
      'role.supervisor': '监督人员',
      'role.partner': '合作单位',
      'role.auditor': '审计员',
      'role.secadmin': '安全管理员',
      'role.sysadmin': '系统管理员',
      'outcome.allowed': '允许',
      'outcome.masked': '脱敏放行',
      'outcome.denied': '拒绝（无权限）',
      'outcome.invalid': '无效请求',
      'outcome.too_complex': '查询过于复杂',
      'outcome.unauthenticated': '未认证',
      'outcome.failed': '失败',
      'outcome.refused': '业务拒绝',
      'outcome.rate_limited': '超出频率限制',
      'decision.read': '可读',
      'decision.read_masked': '脱敏可读',
      'decision.denied': '拒绝',
      'decision.write': '可写'
    },
    en: {
      'title': 'Dibao archive audit console',
      'lang.other': '中文',
      'logout': 'Sign out',
      'login.heading': 'Sign in with an auditor token',
      'login.hint': 'The token is kept only in this tab\'s session storage and is cleared when the tab closes.',
      'login.token': 'Access token (Bearer)',
      'login.submit': 'Sign in',
      'login.empty': 'Paste an access token.',
      'login.malformed': 'This does not look like a token.',
      'login.invalid': 'The token is invalid, expired or revoked (UNAUTHENTICATED).',
      'login.expired': 'The session has ended; sign in again.',
      'forbidden.heading': 'Not permitted',
      'forbidden.text': 'This token may not read the audit log: only the auditor role can use this console. The attempt has been recorded.',
      'forbidden.switch': 'Use another token',
      'nav.label': 'Views',
      'nav.events': 'Audit events',
      'nav.activity': 'Refusals and failures',
      'nav.chain': 'Chain status',
      'nav.review': 'Permission review',
      'nav.alerts': 'Alerts',
      'nav.proposals': 'Policy proposals',
      'nav.verification': 'Verification',
      'verification.legend': 'Economic-status verification requests a county sent, per department',
      'verification.county': 'County code (6 digits)',
      'verification.refresh': 'Show',
      'verification.hint': 'Counts only: requests each department received, answered, withdrawn, pending and overdue (past the answer deadline in working days). To see which department saw a person\'s ID number, search the audit events by ID number.',
      'verification.department': 'Department',
      'verification.received': 'Received',
      'verification.answered': 'Answered',
      'verification.withdrawn': 'Withdrawn',
      'verification.pending': 'Pending',
      'verification.overdue': 'Overdue',
      'verification.total': 'Total',
      'verification.empty': 'This county sent no verification requests.',
      'verification.badCounty': 'Enter a 6-digit county code.',
      'verification.loading': 'Loading verification activity…',
      'verification.loaded': '{county}: {n} departments with requests, {overdue} overdue.',
      'department.PUBLIC_SECURITY': 'Public security (registration, vehicles)',
      'department.HUMAN_RESOURCES': 'Human resources (insurance, employment, pensions)',
      'department.NATURAL_RESOURCES': 'Natural resources (real estate)',
      'department.MARKET_REGULATION': 'Market regulation (businesses)',
      'department.TAX': 'Tax',
      'department.HOUSING_FUND': 'Housing fund',
      'department.BANK': 'Banks (deposits)',
      'nav.exports': 'Exports',
      'exports.legend': 'Files taken out (newest first): who took which file, when, its SHA-256',
      'exports.refresh': 'Refresh',
      'exports.at': 'Time',
      'exports.kind': 'Kind',
      'exports.of': 'Of',
      'exports.rows': 'Rows',
      'exports.sha256': 'SHA-256',
      'exports.batch': 'batch {id}',
      'exports.region': 'region {code}',
      'exports.loading': 'Loading exports…',
      'exports.loaded': '{n} exports loaded.',
      'exports.none': 'No exports yet.',
      'export.PAYMENT_ROLL': 'Payment roll',
      'export.PUBLIC_LIST': 'Public list',
      'export.STATISTICAL_RETURN': 'Statistical return',
      'export.STAFF_ASSESSMENT': 'Staff assessment',
      'alerts.legend': 'Misuse alerts (newest first)',
      'alerts.status': 'Status',
      'alerts.refresh': 'Refresh',
      'alerts.rule': 'Rule',
      'alerts.hour': 'Hour (Beijing time)',
      'alerts.hourValue': 'the hour from {start}',
      'alerts.count': 'Count',
      'alerts.evidence': 'Evidence (audit seq)',
      'alerts.evidenceTitle': 'Show #{seq} among the audit events',
      'alerts.handled': 'Acknowledged by / note',
      'alerts.action': 'Action',
      'alerts.ack': 'Acknowledge…',
      'alerts.ackHeading': 'Acknowledge the alert: {rule}, {principal}, {hour}',
      'alerts.note': 'Note (required: what was found, what was done)',
      'alerts.ackSubmit': 'Acknowledge',
      'alerts.ackCancel': 'Cancel',
      'alerts.emptyNote': 'Write a note first.',
      'alerts.acknowledged': 'Alert acknowledged.',
      'alerts.empty': 'No alerts match.',
      'alerts.loading': 'Loading alerts…',
      'alerts.loaded': '{n} alerts loaded.',
      'alerts.truncated': 'Only the newest {n} alerts are shown.',
      'alerts.thresholds': 'Alert thresholds (per hour; read only, set by a security administrator through the API)',
      'alerts.threshold': 'Threshold',
      'alerts.off': '0 (off)',
      'alerts.anyRole': 'every other role (*)',
      'alerts.finding': 'Looking for audit event #{seq}…',
      'alerts.found': 'Audit event #{seq} opened.',
      'alerts.notFound': '#{seq} was not found among the events of {principal}; their events up to that hour are listed.',
      'alertStatus.OPEN': 'open',
      'alertStatus.ACKNOWLEDGED': 'acknowledged',
      'alertStatus.ALL': '(all)',
      'rule.BULK_READS': 'bulk reads',
      'rule.LOOKUP_MISSES': 'lookup misses',
      'rule.REFUSALS': 'repeated refusals',
      'rule.OFF_HOURS': 'access outside working hours',
      'rule.NEW_CLIENT': 'new client address',
      'ackError.BAD_USER_INPUT': 'The note was not accepted',
      'ackError.CONFLICT': 'This alert is acknowledged already (perhaps by another auditor); the list was refreshed',
      'ackError.NOT_FOUND': 'No such alert; the list was refreshed',
      'ackError.FORBIDDEN': 'Not permitted: only auditors acknowledge alerts',
      'ackError.other': 'Acknowledging failed',
      'code.BAD_USER_INPUT': 'bad input',
      'code.CONFLICT': 'conflict',
      'code.NOT_FOUND': 'not found',
      'code.FORBIDDEN': 'not permitted',
      'code.TOO_COMPLEX': 'query too complex',
      'code.RATE_LIMITED': 'rate limited',
      'code.UNAUTHENTICATED': 'unauthenticated',
      'proposals.legend': 'Policy changes that widen access (four eyes, newest first)',
      'proposals.status': 'Status',
      'proposals.refresh': 'Refresh',
      'proposals.hint': 'Read only for auditors: one security administrator proposes, another must approve before it takes effect.',
      'proposals.proposer': 'Proposer',
      'proposals.proposedAt': 'Proposed at',
      'proposals.adds': 'Rules added',
      'proposals.removes': 'Rules removed',
      'proposals.widened': 'Decisions widened',
      'proposals.widenedCount': '{n} in all',
      'proposals.widenedMore': '{n} more not listed',
      'proposals.widening': '{role} · scope {scope} · {object}: {before} → {after}',
      'proposals.decider': 'Decided by / at',
      'proposals.note': 'Decider\'s note',
      'proposals.empty': 'No proposals match.',
      'proposals.loading': 'Loading policy proposals…',
      'proposals.loaded': '{n} proposals loaded.',
      'proposalStatus.PENDING': 'pending',
      'proposalStatus.APPROVED': 'approved',
      'proposalStatus.REJECTED': 'rejected',
      'proposalStatus.WITHDRAWN': 'withdrawn',
      'proposalStatus.ALL': '(all)',
      'review.legend': 'Scope of the review',
      'review.unusedDays': 'Days unused',
      'review.refresh': 'Refresh',
      'review.unused': 'Credentials unused for long',
      'review.expiring': 'Credentials expiring within 14 days',
      'review.broader': 'Credentials broader than their use (last 30 days)',
      'review.policy': 'Rules that differ from the shipped policy',
      'review.id': 'Credential',
      'review.region': 'Region scope',
      'review.lastUsed': 'Last used',
      'review.expires': 'Expires',
      'review.usedRegion': 'Region used',
      'review.households': 'Households read',
      'review.change': 'Change',
      'review.rule': 'Rule',
      'review.changedBy': 'Changed by',
      'review.changedAt': 'Changed at',
      'review.added': 'added',
      'review.removed': 'removed',
      'review.unknown': 'no record (changed outside the API)',
      'review.never': 'never',
      'review.none': 'none',
      'review.record': 'Record this review',
      'review.note': 'Note',
      'review.submit': 'Record the review',
      'review.history': 'Reviews recorded',
      'review.reviewer': 'Reviewer',
      'review.seen': 'Seen (unused / expiring / broader / policy)',
      'review.overdue': 'Review overdue: review permissions now',
      'review.neverReviewed': 'No permission review recorded yet',
      'review.upToDate': 'Review up to date, next due {due}',
      'review.lastAt': 'Last review',
      'review.lastBy': 'Last reviewer',
      'review.dueAt': 'Next due',
      'review.period': 'Review period (days)',
      'review.loading': 'Loading the permission review…',
      'review.recorded': 'Review recorded.',
      'review.emptyNote': 'Write a note first.',
      'archive.label': 'Who accessed this household? Enter an archive number',
      'archive.submit': 'Show accesses',
      'filters.legend': 'Filters',
      'filters.apply': 'Search',
      'filters.reset': 'Clear',
      'filters.any': '(any)',
      'filters.badTime': 'Not a valid time: {name}',
      'filters.none': 'Showing: all events (newest first)',
      'filters.current': 'Showing: {list} (newest first)',
      'filters.archiveMode': 'Accesses to archive {archive} (newest first)',
      'field.seq': 'Seq',
      'field.time': 'Time',
      'field.principal': 'Principal',
      'field.role': 'Role',
      'field.scope': 'Region scope',
      'field.credentialId': 'Credential ID',
      'field.client': 'Client',
      'field.operation': 'Operation',
      'field.operationType': 'Operation type',
      'field.operationName': 'Operation name',
      'field.documentHash': 'Document hash',
      'field.variables': 'Variables (JSON)',
      'field.archiveNo': 'Archive number',
      'field.person': 'ID number (who looked this person up)',
      'filters.personGiven': 'by ID number (not shown; searched by its blind index)',
      'field.archiveNos': 'Archive numbers',
      'field.outcome': 'Outcome',
      'field.errorCodes': 'Error codes',
      'field.durationMs': 'Duration',
      'field.traceId': 'Trace ID',
      'field.since': 'From (Beijing time)',
      'field.until': 'Until (Beijing time, exclusive)',
      'events.caption': 'Audit events (newest first)',
      'events.detail': 'Detail',
      'events.open': 'Detail',
      'events.empty': 'No events match.',
      'events.loading': 'Loading audit events…',
      'events.loaded': '{n} events loaded.',
      'pager.first': 'First page',
      'pager.prev': 'Previous page',
      'pager.next': 'Next page',
      'pager.label': 'Page {page}',
      'detail.heading': 'Event #{seq}',
      'detail.back': 'Back to the list',
      'detail.fields': 'Fields touched and decisions',
      'detail.field': 'Field',
      'detail.decision': 'Decision',
      'detail.noFields': '(none)',
      'detail.ms': '{ms} ms',
      'detail.whoAccessed': 'All accesses to this archive',
      'export.button': 'Export JSON Lines',
      'export.progress': 'Exporting: {n} events so far…',
      'export.done': 'Exported {n} events to {file}.',
      'activity.legend': 'Refused and failed requests (denied, unauthenticated, failed, too complex, invalid)',
      'activity.range': 'Time range',
      'activity.bucket': 'Bucket',
      'activity.by': 'Split by',
      'activity.refresh': 'Refresh',
      'activity.table': 'Data table',
      'activity.start': 'Bucket start (Beijing time)',
      'activity.key': 'Principal / role',
      'activity.count': 'Count',
      'activity.loading': 'Loading activity…',
      'activity.empty': 'No refused or failed requests in this period.',
      'activity.summary': '{total} refused or failed requests; peak {peak} at {at} (mostly {key}).',
      'activity.spikes': '{n} spike(s) more than two standard deviations above the mean (dashed boxes).',
      'activity.chartLabel': 'Bar chart of refused and failed requests',
      'range.24h': 'Last 24 hours',
      'range.7d': 'Last 7 days',
      'range.30d': 'Last 30 days',
      'range.90d': 'Last 90 days',
      'bucket.HOUR': 'Per hour',
      'bucket.DAY': 'Per day',
      'by.PRINCIPAL': 'By principal',
      'by.ROLE': 'By role',
      'series.other': 'other',
      'chain.verify': 'Verify the chain now',
      'chain.refresh': 'Refresh',
      'chain.entries': 'Entries',
      'chain.headSeq': 'Head sequence',
      'chain.lastAt': 'Last verified at',
      'chain.lastResult': 'Last result',
      'chain.lastEntries': 'Entries verified',
      'chain.firstBad': 'First bad entry',
      'chain.reason': 'Reason',
      'chain.by': 'Verified by',
      'chain.never': 'Never verified',
      'chain.intact': 'intact',
      'chain.broken': 'broken',
      'chain.intactVerdict': 'Intact: {n} entries verified',
      'chain.brokenVerdict': 'Broken: first bad entry #{bad}',
      'chain.verifying': 'Verifying the audit chain…',
      'chain.verified': 'Verification finished.',
      'chain.loading': 'Loading chain status…',
      'error.network': 'Cannot reach the server.',
      'error.http': 'The server answered HTTP {status}.',
      'none': '—',
      'role.caseworker': 'caseworker',
      'role.county_reviewer': 'county reviewer',
      'role.finance_officer': 'finance officer',
      'role.supervisor': 'supervisor',
      'role.partner': 'partner',
      'role.auditor': 'auditor',
      'role.secadmin': 'security administrator',
      'role.sysadmin': 'system administrator',
      'outcome.allowed': 'allowed',
      'outcome.masked': 'allowed, masked',
      'outcome.denied': 'denied (forbidden)',
      'outcome.invalid': 'invalid request',
      'outcome.too_complex': 'too complex',
      'outcome.unauthenticated': 'unauthenticated',
      'outcome.failed': 'failed',
      'outcome.refused': 'refused by a rule',
      'outcome.rate_limited': 'rate limited',
      'decision.read': 'read',
      'decision.read_masked': 'read, masked',
      'decision.denied': 'denied',
      'decision.write': 'write'
    }
  };

  var lang = readLang();

  function readLang() {
    try {
      var stored = window.localStorage.getItem(LANG_KEY);
      return stored === 'en' ? 'en' : 'zh';
    } catch (e) {
      return 'zh';
    }
  }

  function has(key) {
    return I18N[lang][key] !== undefined || I18N.zh[key] !== undefined;
  }

  /** An error code as the API sent it, with its meaning in the page's language. */
  function codeText(code) {
    return has('code.' + code) ? code + '：' + t('code.' + code) : code;
  }

  function t(key, params) {
    var text = I18N[lang][key];
    if (text === undefined) text = I18N.zh[key];
    if (text === undefined) text = key;
    if (params) {
      text = text.replace(/\{(\w+)\}/g, function (whole, name) {
        return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole;
      });
    }
    return text;
  }

  /* ------------------------------------------------------------- DOM helpers */

  function $(id) {
    return document.getElementById(id);
  }

  /** An element with a class and text (textContent only: API values are never parsed as HTML). */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        node.setAttribute(name, String(attrs[name]));
      });
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  /** A value exactly as the API returned it; null and empty lists show as a dash. */
  function shown(value) {
    if (value === null || value === undefined) return t('none');
    if (Array.isArray(value)) return value.length ? value.join(', ') : t('none');
    return String(value);
  }

  /* --------------------------------------------------------------- time */

  var formatters = {};

  function formatter(kind) {
    if (!formatters[kind]) {
      var options = { timeZone: 'Asia/Shanghai', hourCycle: 'h23' };
      if (kind === 'full') {
        options.year = 'numeric';
        options.month = '2-digit';
        options.day = '2-digit';
        options.hour = '2-digit';
        options.minute = '2-digit';
        options.second = '2-digit';
      } else if (kind === 'minute') {
        options.year = 'numeric';
        options.month = '2-digit';
        options.day = '2-digit';
        options.hour = '2-digit';
        options.minute = '2-digit';
      } else if (kind === 'hour') {
        options.month = '2-digit';
        options.day = '2-digit';
        options.hour = '2-digit';
        options.minute = '2-digit';
      } else {
        options.month = '2-digit';
        options.day = '2-digit';
      }
      formatters[kind] = new Intl.DateTimeFormat('zh-CN', options);
    }
    return formatters[kind];
  }

  function formatTime(value, kind) {
    var ms = typeof value === 'number' ? value : Date.parse(value);
    if (isNaN(ms)) return shown(value);
    return formatter(kind || 'full').format(new Date(ms));
  }

  /** ISO 8601 in Beijing time with its offset, e.g. 2026-11-27T08:00:00+08:00. */
  function beijingIso(ms) {
    return new Date(ms + BEIJING_OFFSET_MS).toISOString().slice(0, 19) + '+08:00';
  }

  /** A datetime-local value, read as Beijing time; '' gives null; undefined when malformed. */
  function localInputToIso(value) {
    if (!value) return null;
    var match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?(\.\d+)?$/.exec(value);
    if (!match) return undefined;
    return match[1] + 'T' + match[2] + (match[3] || ':00') + '+08:00';
  }

  /* ---------------------------------------------------------------- API */

  function ApiError(message, code, status, detail) {
    this.name = 'ApiError';
    this.message = message;
    this.code = code;
    this.status = status;
    this.detail = detail || '';  // the first error's own message, as the server wrote it
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.constructor = ApiError;

  function token() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY);
    } catch (e) {
      return null;
    }
  }

  function gql(query, variables) {
    var bearer = token();
    if (!bearer) {
      return Promise.reject(new ApiError(t('login.expired'), 'UNAUTHENTICATED', 401));
    }
    return fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'accept': 'application/json',
        'authorization': 'Bearer ' + bearer
      },
      body: JSON.stringify({ query: query, variables: variables || {} }),
      credentials: 'omit',
      cache: 'no-store',
      redirect: 'error',
      referrerPolicy: 'no-referrer'
    }).then(function (response) {
      return response.json().then(
        function (body) { return { response: response, body: body }; },
        function () { return { response: response, body: null }; }
      );
    }, function () {
      throw new ApiError(t('error.network'), 'NETWORK', 0);
    }).then(function (result) {
      var response = result.response;
      var body = result.body;
      var errors = body && Array.isArray(body.errors) ? body.errors : [];
      var codes = errors.map(function (e) {
        return e && e.extensions && e.extensions.code;
      }).filter(Boolean);
      if (response.status === 401 || codes.indexOf('UNAUTHENTICATED') >= 0) {
        throw new ApiError(t('login.invalid'), 'UNAUTHENTICATED', response.status);
      }
      var detail = errors.length && errors[0] && errors[0].message ? String(errors[0].message) : '';
      if (codes.indexOf('FORBIDDEN') >= 0) {
        throw new ApiError(t('forbidden.heading'), 'FORBIDDEN', response.status, detail);
      }
      if (errors.length) {
        var message = errors.map(function (e) {
          var code = e && e.extensions && e.extensions.code;
          return (e && e.message ? e.message : '') + (code ? ' (' + codeText(code) + ')' : '');
        }).join('; ');
        throw new ApiError(message, codes[0] || 'ERROR', response.status, detail);
      }
      if (!response.ok || !body || !body.data) {
        throw new ApiError(t('error.http', { status: response.status }), 'HTTP', response.status);
      }
      return body.data;
    });
  }

  /* --------------------------------------------------------- page states */

  var state = {
    view: 'events',
    events: { filter: {}, archiveMode: false, cursors: [null], page: 0, nodes: [],
      pageInfo: null, detailSeq: null, loading: 0 },
    activity: { data: null, loading: 0 },
    chain: { data: null },
    review: { lists: null, history: null },
    alerts: { rows: null, thresholds: null, acking: null, ackAlert: null, ackError: null,
      loading: 0 },
    proposals: { rows: null, loading: 0 },
    verification: { county: null, rows: null, loading: 0 }
  };

  function setStatus(text) {
    $('status').textContent = text || '';
  }

  function showError(text) {
    var box = $('error');
    box.textContent = text || '';
    show(box, !!text);
  }

  function showState(name) {
    show($('login'), name === 'login');
    show($('forbidden'), name === 'forbidden');
    show($('app'), name === 'app');
    show($('logout'), name !== 'login');
    if (name !== 'app') setStatus('');
    if (name === 'login') $('token-input').focus();
  }

  function handleError(err) {
    if (err && err.code === 'UNAUTHENTICATED') {
      signOut('login.expired');
    } else if (err && err.code === 'FORBIDDEN') {
      showError('');
      showState('forbidden');
    } else {
      setStatus('');
      showError(err && err.message ? err.message : String(err));
    }
  }

  function forgetToken() {
    try {
      window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage unavailable: nothing kept */ }
  }

  function resetState() {
    state.events = { filter: {}, archiveMode: false, cursors: [null], page: 0, nodes: [],
      pageInfo: null, detailSeq: null, loading: 0 };
    state.activity = { data: null, loading: 0 };
    state.chain = { data: null };
    state.review = { lists: null, history: null };
    state.alerts = { rows: null, thresholds: null, acking: null, ackAlert: null, ackError: null,
      loading: 0 };
    state.proposals = { rows: null, loading: 0 };
    state.verification = { county: null, rows: null, loading: 0 };
    clear($('verification-body'));
    clear($('verification-foot'));
    show($('verification-empty'), false);
    ['alerts-body', 'alert-thresholds-body', 'proposals-body'].forEach(function (id) { clear($(id)); });
    $('ack-note').value = '';
    show($('ack-form'), false);
    show($('alerts-empty'), false);
    show($('proposals-empty'), false);
    ['review-unused-body', 'review-expiring-body', 'review-broader-body', 'review-policy-body',
      'review-history-body', 'review-due-props'].forEach(function (id) { clear($(id)); });
    $('review-due').textContent = '';
    clear($('events-body'));
    clear($('activity-chart'));
    clear($('activity-legend'));
    clear($('activity-table-body'));
    clear($('chain-props'));
    $('chain-verdict').textContent = '';
    show($('detail'), false);
    show($('events-list'), true);
  }

  /** The login form's message, kept as a dictionary key so a language switch translates it. */
  function loginMessage(key) {
    var box = $('login-error');
    if (key) box.setAttribute('data-message', key);
    else box.removeAttribute('data-message');
    box.textContent = key ? t(key) : '';
    show(box, !!key);
  }

  function signOut(messageKey) {
    forgetToken();
    resetState();
    showError('');
    loginMessage(messageKey);
    showState('login');
  }

  /** Check the stored token against the API, then open the console. */
  function enter() {
    setStatus(t('chain.loading'));
    return gql(CHAIN_QUERY).then(function (data) {
      state.chain.data = data.auditChain;
      loginMessage(null);
      showError('');
      showState('app');
      selectView('events');
      renderChain();
      return loadEvents();
    }, function (err) {
      if (err.code === 'UNAUTHENTICATED') {
        signOut('login.invalid');
      } else {
        handleError(err);
      }
    });
  }

  function onLogin(event) {
    event.preventDefault();
    var input = $('token-input');
    var value = input.value.trim().replace(/^Bearer\s+/i, '');
    if (!value) {
      loginMessage('login.empty');
      return;
    }
    if (!/^[\x21-\x7e]+$/.test(value)) {
      loginMessage('login.malformed');
      return;
    }
    input.value = '';
    try {
      window.sessionStorage.setItem(TOKEN_KEY, value);
    } catch (e) { /* fall through: the request below reports the missing token */ }
    enter();
  }

  /* ---------------------------------------------------------------- tabs */

  var VIEWS = ['events', 'activity', 'chain', 'review', 'alerts', 'proposals', 'verification',
    'exports'];

  function selectView(name) {
    state.view = name;
    VIEWS.forEach(function (view) {
      var tab = $('tab-' + view);
      var selected = view === name;
      tab.setAttribute('aria-selected', selected ? 'true' : 'false');
      tab.tabIndex = selected ? 0 : -1;
      show($('view-' + view), selected);
    });
    showError('');
    if (name === 'activity' && !state.activity.data) loadActivity();
    if (name === 'chain') loadChain();
    if (name === 'review') loadReview();
    if (name === 'alerts') loadAlerts();
    if (name === 'proposals') loadProposals();
    if (name === 'verification') $('vf-county').focus();
    if (name === 'exports') loadExports();
  }

  /* ------------------------------------------------------------- exports */

  function loadExports() {
    setStatus(t('exports.loading'));
    return gql(EXPORTS_QUERY, { newest: EXPORTS_NEWEST }).then(function (data) {
      var body = $('exports-body');
      clear(body);
      data.exports.forEach(function (x) {
        var tr = el('tr');
        tr.setAttribute('data-testid', 'export-row');
        var of = x.batchId ? t('exports.batch', { id: x.batchId })
          : t('exports.region', { code: shown(x.region) });
        var kind = has('export.' + x.kind) ? t('export.' + x.kind) : x.kind;
        [formatTime(x.createdAt), x.principal, roleLabel(x.role), kind + ' (' + x.format + ')',
          of, String(x.rowCount), x.sha256]
          .forEach(function (cell) { tr.appendChild(el('td', null, cell)); });
        body.appendChild(tr);
      });
      if (!data.exports.length) {
        var tr = el('tr');
        var td = el('td', 'hint', t('exports.none'));
        td.colSpan = 7;
        tr.appendChild(td);
        body.appendChild(tr);
      }
      setStatus(t('exports.loaded', { n: data.exports.length }));
    }, handleError);
  }

  function onTabKey(event) {
    var index = VIEWS.indexOf(state.view);
    if (event.key === 'ArrowRight') index = (index + 1) % VIEWS.length;
    else if (event.key === 'ArrowLeft') index = (index + VIEWS.length - 1) % VIEWS.length;
    else return;
    event.preventDefault();
    selectView(VIEWS[index]);
    $('tab-' + VIEWS[index]).focus();
  }

  /* -------------------------------------------------------------- events */

  function fillSelect(select, values, labelOf, anyLabel) {
    var current = select.value;
    clear(select);
    if (anyLabel) {
      var any = el('option', null, anyLabel);
      any.value = '';
      select.appendChild(any);
    }
    values.forEach(function (value) {
      var option = el('option', null, labelOf(value));
      option.value = value;
      select.appendChild(option);
    });
    if (current) select.value = current;
  }

  function readFilter() {
    var filter = {};
    var principal = $('f-principal').value.trim();
    var archive = $('f-archive').value.trim();
    // who looked up this person: the ID number goes to the service, which searches by
    // its blind index; it is kept nowhere here but this filter in memory, never shown
    var person = $('f-person').value.trim();
    if (person) filter.lookedUpIdNumber = person;
    if (principal) filter.principal = principal;
    if ($('f-role').value) filter.role = $('f-role').value;
    if ($('f-outcome').value) filter.outcome = $('f-outcome').value;
    if (archive) filter.archiveNo = archive;
    var since = localInputToIso($('f-since').value);
    var until = localInputToIso($('f-until').value);
    if (since === undefined) throw new ApiError(t('filters.badTime', { name: t('field.since') }), 'INPUT', 0);
    if (until === undefined) throw new ApiError(t('filters.badTime', { name: t('field.until') }), 'INPUT', 0);
    if (since) filter.since = since;
    if (until) filter.until = until;
    return filter;
  }

  function applyFilter(filter, archiveMode) {
    state.events.filter = filter;
    state.events.archiveMode = !!archiveMode;
    state.events.cursors = [null];
    state.events.page = 0;
    closeDetail();
    return loadEvents();
  }

  function onFilter(event) {
    event.preventDefault();
    var filter;
    try {
      filter = readFilter();
    } catch (err) {
      showError(err.message);
      return;
    }
    $('archive-search').value = filter.archiveNo || '';
    var onlyArchive = Object.keys(filter).length === 1 && !!filter.archiveNo;
    applyFilter(filter, onlyArchive);
  }

  /** "Who accessed household X": the list narrowed to one archive number, nothing else. */
  function whoAccessed(archiveNo) {
    $('f-person').value = '';
    $('f-principal').value = '';
    $('f-role').value = '';
    $('f-outcome').value = '';
    $('f-since').value = '';
    $('f-until').value = '';
    $('f-archive').value = archiveNo;
    $('archive-search').value = archiveNo;
    if (state.view !== 'events') selectView('events');
    return applyFilter({ archiveNo: archiveNo }, true);
  }

  function onArchiveSearch(event) {
    event.preventDefault();
    var archive = $('archive-search').value.trim();
    if (!archive) {
      $('archive-search').focus();
      return;
    }
    whoAccessed(archive);
  }

  function onReset() {
    ['f-principal', 'f-role', 'f-outcome', 'f-archive', 'f-person', 'f-since', 'f-until',
      'archive-search'].forEach(function (id) { $(id).value = ''; });
    applyFilter({}, false);
  }

  function loadEvents() {
    var ev = state.events;
    var ticket = ++ev.loading;
    var variables = Object.assign({}, ev.filter, { first: PAGE_SIZE, after: ev.cursors[ev.page] });
    var list = $('events-list');
    setStatus(t('events.loading'));
    list.setAttribute('aria-busy', 'true');
    // the pager speaks of the page being loaded, not of the previous one
    ev.pageInfo = null;
    setPager(false);
    return gql(EVENTS_QUERY, variables).then(function (data) {
      if (ticket !== ev.loading || ev !== state.events) return;
      var connection = data.auditEvents;
      ev.nodes = connection.edges.map(function (edge) { return edge.node; });
      ev.pageInfo = connection.pageInfo;
      list.removeAttribute('aria-busy');
      showError('');
      renderEvents();
      setStatus(t('events.loaded', { n: ev.nodes.length }));
    }, function (err) {
      if (ticket !== ev.loading) return;
      list.removeAttribute('aria-busy');
      setPager(true);
      handleError(err);
    });
  }

  function setPager(enabled) {
    var ev = state.events;
    $('prev-page').disabled = !enabled || ev.page === 0;
    $('first-page').disabled = !enabled || ev.page === 0;
    $('next-page').disabled = !(enabled && ev.pageInfo && ev.pageInfo.hasNextPage &&
      ev.pageInfo.endCursor);
  }

  function outcomeBadge(outcome) {
    var badge = el('span', 'badge outcome-' + String(outcome).replace(/[^a-z_]/g, ''), outcome);
    badge.title = t('outcome.' + outcome);
    return badge;
  }

  function archiveLinks(archiveNos) {
    var cell = el('td', 'mono');
    if (!archiveNos || !archiveNos.length) {
      cell.textContent = t('none');
      return cell;
    }
    archiveNos.forEach(function (archiveNo, i) {
      if (i) cell.appendChild(document.createTextNode(', '));
      var link = el('button', 'link', archiveNo);
      link.type = 'button';
      link.title = t('detail.whoAccessed');
      link.setAttribute('data-testid', 'archive-link');
      link.addEventListener('click', function () { whoAccessed(archiveNo); });
      cell.appendChild(link);
    });
    return cell;
  }

  function describeFilter() {
    var ev = state.events;
    var filter = ev.filter;
    if (ev.archiveMode) return t('filters.archiveMode', { archive: filter.archiveNo });
    var names = { principal: 'field.principal', role: 'field.role', outcome: 'field.outcome',
      archiveNo: 'field.archiveNo', since: 'field.since', until: 'field.until' };
    var parts = Object.keys(names).filter(function (key) { return filter[key]; })
      .map(function (key) {
        var value = key === 'since' || key === 'until' ? formatTime(filter[key]) : filter[key];
        return t(names[key]) + ' = ' + value;
      });
    if (filter.lookedUpIdNumber) parts.push(t('filters.personGiven'));
    return parts.length ? t('filters.current', { list: parts.join('; ') }) : t('filters.none');
  }

  function renderEvents() {
    var ev = state.events;
    var body = $('events-body');
    clear(body);
    ev.nodes.forEach(function (node) {
      var row = el('tr');
      row.setAttribute('data-testid', 'event-row');
      row.setAttribute('data-seq', String(node.seq));
      row.setAttribute('data-outcome', String(node.outcome));
      if (node.seq === ev.detailSeq) row.className = 'selected';
      row.appendChild(el('td', 'num', node.seq));
      row.appendChild(el('td', 'mono', formatTime(node.time)));
      row.appendChild(el('td', null, shown(node.principal)));
      row.appendChild(el('td', null, shown(node.role)));
      row.appendChild(el('td', null, shown([node.operationType, node.operationName]
        .filter(function (part) { return part; }).join(' ') || null)));
      var outcomeCell = el('td');
      outcomeCell.appendChild(outcomeBadge(node.outcome));
      row.appendChild(outcomeCell);
      row.appendChild(archiveLinks(node.archiveNos));
      row.appendChild(el('td', 'mono', shown(node.errorCodes)));
      var openCell = el('td');
      var open = el('button', null, t('events.open'));
      open.type = 'button';
      open.setAttribute('data-testid', 'event-open');
      open.setAttribute('aria-label', t('detail.heading', { seq: node.seq }));
      open.addEventListener('click', function () { openDetail(node.seq); });
      openCell.appendChild(open);
      row.appendChild(openCell);
      body.appendChild(row);
    });
    show($('events-empty'), ev.nodes.length === 0);
    $('filter-summary').textContent = describeFilter();
    $('page-label').textContent = t('pager.label', { page: ev.page + 1 });
    setPager(!$('events-list').hasAttribute('aria-busy'));
  }

  function onNextPage() {
    var ev = state.events;
    if (!(ev.pageInfo && ev.pageInfo.hasNextPage && ev.pageInfo.endCursor)) return;
    ev.cursors[ev.page + 1] = ev.pageInfo.endCursor;
    ev.cursors.length = ev.page + 2;
    ev.page += 1;
    closeDetail();
    loadEvents();
  }

  function onPrevPage() {
    var ev = state.events;
    if (ev.page === 0 || $('events-list').hasAttribute('aria-busy')) return;
    ev.page -= 1;
    closeDetail();
    loadEvents();
  }

  function onFirstPage() {
    state.events.page = 0;
    closeDetail();
    loadEvents();
  }

  /* -------------------------------------------------------------- detail */

  function prop(list, label, value, options) {
    var dt = el('dt', null, label);
    var dd = el('dd', options && options.mono ? 'mono' : null);
    if (value instanceof Node) dd.appendChild(value);
    else dd.textContent = shown(value);
    if (options && options.testid) dd.setAttribute('data-testid', options.testid);
    list.appendChild(dt);
    list.appendChild(dd);
  }

  function openDetail(seq) {
    state.events.detailSeq = seq;
    renderDetail();
    renderEvents();
    $('detail-heading').focus();
  }

  function closeDetail() {
    state.events.detailSeq = null;
    show($('detail'), false);
    show($('events-list'), true);
  }

  function renderDetail() {
    var ev = state.events;
    var node = null;
    ev.nodes.forEach(function (candidate) {
      if (candidate.seq === ev.detailSeq) node = candidate;
    });
    if (!node) {
      closeDetail();
      return;
    }
    $('detail-heading').textContent = t('detail.heading', { seq: node.seq });
    var props = $('detail-props');
    clear(props);
    var time = el('span', null, formatTime(node.time) + ' ');
    time.appendChild(el('span', 'mono hint', '(' + node.time + ')'));
    prop(props, t('field.time'), time, { testid: 'detail-time' });
    prop(props, t('field.principal'), node.principal, { testid: 'detail-principal' });
    prop(props, t('field.role'), node.role, { testid: 'detail-role' });
    prop(props, t('field.scope'), node.scope, { mono: true });
    prop(props, t('field.credentialId'), node.credentialId, { mono: true });
    prop(props, t('field.client'), node.client, { mono: true, testid: 'detail-client' });
    prop(props, t('field.operationType'), node.operationType);
    prop(props, t('field.operationName'), node.operationName, { testid: 'detail-operation' });
    var outcome = el('span');
    outcome.appendChild(outcomeBadge(node.outcome));
    outcome.appendChild(document.createTextNode(' ' + t('outcome.' + node.outcome)));
    prop(props, t('field.outcome'), outcome, { testid: 'detail-outcome' });
    prop(props, t('field.errorCodes'), node.errorCodes, { mono: true, testid: 'detail-errors' });
    var archives = el('span', 'mono');
    var built = archiveLinks(node.archiveNos);
    while (built.firstChild) archives.appendChild(built.firstChild);
    prop(props, t('field.archiveNos'), archives, { testid: 'detail-archives' });
    prop(props, t('field.traceId'), node.traceId, { mono: true, testid: 'detail-trace' });
    prop(props, t('field.documentHash'), node.documentHash, { mono: true, testid: 'detail-hash' });
    prop(props, t('field.durationMs'), t('detail.ms', { ms: node.durationMs }),
      { testid: 'detail-duration' });

    var body = $('detail-fields-body');
    clear(body);
    if (!node.fields || !node.fields.length) {
      var empty = el('tr');
      var cell = el('td', 'hint', t('detail.noFields'));
      cell.colSpan = 2;
      empty.appendChild(cell);
      body.appendChild(empty);
    }
    (node.fields || []).forEach(function (item) {
      var row = el('tr');
      row.setAttribute('data-testid', 'detail-field');
      row.setAttribute('data-field', item.field);
      row.setAttribute('data-decision', item.decision);
      row.appendChild(el('td', 'mono', item.field));
      var decision = el('td');
      var badge = el('span', 'badge decision-' + String(item.decision).replace(/[^a-z_]/g, ''),
        item.decision);
      badge.title = t('decision.' + item.decision);
      decision.appendChild(badge);
      row.appendChild(decision);
      body.appendChild(row);
    });

    var variables = node.variables;
    if (typeof variables === 'string') {
      try {
        variables = JSON.stringify(JSON.parse(variables), null, 2);
      } catch (e) { /* not JSON: show it as it came */ }
    }
    $('detail-variables').textContent = shown(variables);
    show($('events-list'), false);
    show($('detail'), true);
  }

  /* -------------------------------------------------------------- export */

  function onExport() {
    var button = $('export');
    var filter = state.events.filter;
    var lines = [];
    button.disabled = true;
    showError('');

    function page(after) {
      var variables = Object.assign({}, filter, { first: EXPORT_PAGE_SIZE, after: after });
      return gql(EVENTS_QUERY, variables).then(function (data) {
        var connection = data.auditEvents;
        connection.edges.forEach(function (edge) {
          lines.push(JSON.stringify(edge.node) + '\n');
        });
        setStatus(t('export.progress', { n: lines.length }));
        var info = connection.pageInfo;
        if (info.hasNextPage && info.endCursor && connection.edges.length) {
          return page(info.endCursor);
        }
        return null;
      });
    }

    page(null).then(function () {
      var blob = new Blob(lines, { type: 'application/x-ndjson' });
      var url = URL.createObjectURL(blob);
      var link = el('a');
      link.href = url;
      link.download = EXPORT_FILE;
      link.hidden = true;
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      setStatus(t('export.done', { n: lines.length, file: EXPORT_FILE }));
    }, handleError).then(function () {
      button.disabled = false;
    });
  }

  /* ------------------------------------------------------------ activity */

  function activityWindow(rangeKey, bucket) {
    var range = RANGES.filter(function (r) { return r.key === rangeKey; })[0] || RANGES[1];
    var now = Date.now();
    var step = bucket === 'DAY' ? DAY_MS : HOUR_MS;
    // buckets start on whole hours, or on midnight Beijing time for days
    var until = Math.ceil((now + BEIJING_OFFSET_MS + 1) / step) * step - BEIJING_OFFSET_MS;
    var since = until - range.hours * HOUR_MS;
    since = Math.floor((since + BEIJING_OFFSET_MS) / step) * step - BEIJING_OFFSET_MS;
    return { since: since, until: until, step: step, bucket: bucket };
  }

  function onActivity(event) {
    if (event) event.preventDefault();
    loadActivity();
  }

  function loadActivity() {
    var act = state.activity;
    var ticket = ++act.loading;
    var bucket = $('a-bucket').value || 'HOUR';
    var by = $('a-by').value || 'PRINCIPAL';
    var win = activityWindow($('a-range').value, bucket);
    var box = $('activity-chart');
    setStatus(t('activity.loading'));
    box.setAttribute('aria-busy', 'true');
    return gql(ACTIVITY_QUERY, {
      since: beijingIso(win.since), until: beijingIso(win.until), bucket: bucket, by: by
    }).then(function (data) {
      if (ticket !== act.loading || act !== state.activity) return;
      act.data = { rows: data.auditActivity, win: win, by: by };
      showError('');
      renderActivity();
      setStatus('');
      box.removeAttribute('aria-busy');
    }, function (err) {
      if (ticket !== act.loading) return;
      box.removeAttribute('aria-busy');
      handleError(err);
    });
  }

  function niceCeiling(value) {
    if (value <= 5) return Math.max(1, Math.ceil(value));
    var power = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * power >= value) return steps[i] * power;
    }
    return 10 * power;
  }

  /** How many buckets between x labels: a round number of hours or days, at most ~9 labels. */
  function tickEvery(count, step) {
    var choices = step === DAY_MS ? [1, 2, 7, 14, 28] : [1, 2, 3, 6, 12, 24, 48, 168, 336];
    for (var i = 0; i < choices.length; i++) {
      if (count / choices[i] <= 9) return choices[i];
    }
    var last = choices[choices.length - 1];
    return last * Math.ceil(count / 9 / last);
  }

  /** Turn rows into buckets × series; the eight busiest keys get a colour, the rest "other". */
  function activitySeries(rows, win) {
    var count = Math.max(1, Math.round((win.until - win.since) / win.step));
    var totalsByKey = {};
    rows.forEach(function (row) {
      totalsByKey[row.key] = (totalsByKey[row.key] || 0) + row.count;
    });
    var keys = Object.keys(totalsByKey).sort(function (a, b) {
      return totalsByKey[b] - totalsByKey[a] || (a < b ? -1 : a > b ? 1 : 0);
    });
    var series = keys.slice(0, SERIES_COLOURS).map(function (key, i) {
      return { key: key, label: key, cls: 's' + i, total: totalsByKey[key] };
    });
    var seriesIndex = {};
    series.forEach(function (s, i) { seriesIndex[s.key] = i; });
    if (keys.length > SERIES_COLOURS) {
      var other = { key: null, label: t('series.other'), cls: 's-other', total: 0 };
      keys.slice(SERIES_COLOURS).forEach(function (key) {
        other.total += totalsByKey[key];
        seriesIndex[key] = SERIES_COLOURS;
      });
      series.push(other);
    }
    var buckets = [];
    for (var i = 0; i < count; i++) {
      buckets.push({ start: win.since + i * win.step, total: 0, parts: series.map(function () { return 0; }), top: null });
    }
    rows.forEach(function (row) {
      var index = Math.floor((Date.parse(row.start) - win.since) / win.step);
      if (index < 0 || index >= count) return;
      var bucket = buckets[index];
      bucket.total += row.count;
      bucket.parts[seriesIndex[row.key]] += row.count;
      if (!bucket.top || row.count > bucket.top.count) bucket.top = row;
    });
    return { buckets: buckets, series: series };
  }

  function renderActivity() {
    var data = state.activity.data;
    if (!data) return;
    var win = data.win;
    var shape = activitySeries(data.rows, win);
    var buckets = shape.buckets;
    var series = shape.series;
    var kind = win.bucket === 'DAY' ? 'day' : 'hour';

    var totals = buckets.map(function (b) { return b.total; });
    var sum = totals.reduce(function (a, b) { return a + b; }, 0);
    var mean = sum / buckets.length;
    var variance = totals.reduce(function (a, b) { return a + (b - mean) * (b - mean); }, 0) / buckets.length;
    var threshold = mean + 2 * Math.sqrt(variance);
    var peak = buckets.reduce(function (best, b) { return b.total > best.total ? b : best; }, buckets[0]);

    var W = 960;
    var H = 320;
    var left = 48;
    var right = 12;
    var top = 28;
    var bottom = 44;
    var plotW = W - left - right;
    var plotH = H - top - bottom;
    var yMax = niceCeiling(Math.max(1, peak.total));
    var slot = plotW / buckets.length;
    var gap = slot >= 6 ? slot * 0.18 : 0;
    var barW = Math.max(0.5, slot - gap);

    function y(value) {
      return top + plotH - (value / yMax) * plotH;
    }

    var chart = svg('svg', {
      viewBox: '0 0 ' + W + ' ' + H,
      role: 'img',
      'aria-labelledby': 'activity-svg-title',
      'data-testid': 'activity-svg',
      preserveAspectRatio: 'xMidYMid meet'
    });
    var title = svg('title', { id: 'activity-svg-title' });
    title.textContent = t('activity.chartLabel');
    chart.appendChild(title);

    // horizontal grid and y labels: 0, half, max
    [0, yMax / 2, yMax].forEach(function (value) {
      if (value !== Math.round(value)) return;
      chart.appendChild(svg('line', { x1: left, x2: W - right, y1: y(value), y2: y(value), class: 'grid-line' }));
      var label = svg('text', { x: left - 6, y: y(value) + 4, 'text-anchor': 'end', class: 'tick' });
      label.textContent = String(value);
      chart.appendChild(label);
    });
    chart.appendChild(svg('line', { x1: left, x2: left, y1: top, y2: top + plotH, class: 'axis' }));
    chart.appendChild(svg('line', { x1: left, x2: W - right, y1: top + plotH, y2: top + plotH, class: 'axis' }));

    // x labels: at most about nine, on round Beijing hours or days
    var every = tickEvery(buckets.length, win.step);
    var tickKind = win.step === HOUR_MS && every % 24 === 0 ? 'day' : kind;
    buckets.forEach(function (bucket, i) {
      if (Math.round((bucket.start + BEIJING_OFFSET_MS) / win.step) % every !== 0) return;
      var x = left + i * slot + slot / 2;
      chart.appendChild(svg('line', { x1: x, x2: x, y1: top + plotH, y2: top + plotH + 4, class: 'axis' }));
      var label = svg('text', { x: x, y: top + plotH + 18, 'text-anchor': 'middle', class: 'tick' });
      label.textContent = formatTime(bucket.start, tickKind);
      chart.appendChild(label);
    });

    var spikes = 0;
    buckets.forEach(function (bucket, i) {
      if (!bucket.total) return;
      var x = left + i * slot + gap / 2;
      var base = 0;
      var group = svg('g', { 'data-testid': 'activity-bar', 'data-start': beijingIso(bucket.start),
        'data-count': bucket.total });
      bucket.parts.forEach(function (part, s) {
        if (!part) return;
        var y0 = y(base);
        var y1 = y(base + part);
        base += part;
        var rect = svg('rect', {
          x: x.toFixed(2), y: y1.toFixed(2), width: barW.toFixed(2),
          height: Math.max(0.5, y0 - y1).toFixed(2), class: 'bar ' + series[s].cls
        });
        var tip = svg('title');
        tip.textContent = formatTime(bucket.start, kind) + ' — ' + series[s].label + ': ' + part;
        rect.appendChild(tip);
        group.appendChild(rect);
      });
      var isSpike = bucket.total > threshold && bucket.total >= 3 && buckets.length > 2;
      if (isSpike) {
        spikes += 1;
        group.appendChild(svg('rect', {
          x: (x - 2).toFixed(2), y: (y(bucket.total) - 2).toFixed(2), width: (barW + 4).toFixed(2),
          height: (y(0) - y(bucket.total) + 2).toFixed(2), class: 'spike-mark'
        }));
      }
      if (isSpike || bucket === peak) {
        var label = svg('text', { x: (x + barW / 2).toFixed(2), y: (y(bucket.total) - 6).toFixed(2),
          'text-anchor': 'middle', class: 'peak-label' });
        label.textContent = String(bucket.total);
        group.appendChild(label);
      }
      chart.appendChild(group);
    });

    if (!sum) {
      var note = svg('text', { x: left + plotW / 2, y: top + plotH / 2, 'text-anchor': 'middle', class: 'empty-note' });
      note.textContent = t('activity.empty');
      chart.appendChild(note);
    }

    var box = $('activity-chart');
    clear(box);
    box.appendChild(chart);
    box.setAttribute('data-bucket', win.bucket);
    box.setAttribute('data-by', data.by);

    var summary = sum
      ? t('activity.summary', { total: sum, peak: peak.total, at: formatTime(peak.start, kind),
        key: peak.top ? peak.top.key : t('none') })
      : t('activity.empty');
    if (spikes) summary += ' ' + t('activity.spikes', { n: spikes });
    $('activity-summary').textContent = summary;

    var legend = $('activity-legend');
    clear(legend);
    series.forEach(function (s) {
      var item = el('li');
      item.setAttribute('data-testid', 'activity-legend-item');
      item.appendChild(el('span', 'swatch ' + s.cls));
      item.appendChild(el('span', null, s.label + ' (' + s.total + ')'));
      legend.appendChild(item);
    });

    var body = $('activity-table-body');
    clear(body);
    data.rows.forEach(function (row) {
      var tr = el('tr');
      tr.appendChild(el('td', 'mono', formatTime(row.start, kind)));
      tr.appendChild(el('td', null, row.key));
      tr.appendChild(el('td', 'num', row.count));
      body.appendChild(tr);
    });
  }

  /* --------------------------------------------------------------- chain */

  function loadChain() {
    setStatus(t('chain.loading'));
    return gql(CHAIN_QUERY).then(function (data) {
      state.chain.data = data.auditChain;
      renderChain();
      setStatus('');
    }, handleError);
  }

  function onVerify() {
    var button = $('verify-chain');
    var view = $('view-chain');
    button.disabled = true;
    view.setAttribute('aria-busy', 'true');
    showError('');
    setStatus(t('chain.verifying'));
    gql(VERIFY_MUTATION).then(function (data) {
      var run = data.verifyAuditChain;
      if (state.chain.data) state.chain.data.lastVerification = run;
      renderChain();
      return loadChain().then(function () { setStatus(t('chain.verified')); });
    }, handleError).then(function () {
      button.disabled = false;
      view.removeAttribute('aria-busy');
    });
  }

  function renderChain() {
    var chain = state.chain.data;
    if (!chain) return;
    var verdict = $('chain-verdict');
    var last = chain.lastVerification;
    if (!last) {
      verdict.textContent = t('chain.never');
      verdict.className = 'verdict unknown';
      verdict.setAttribute('data-state', 'unknown');
    } else if (last.ok) {
      verdict.textContent = t('chain.intactVerdict', { n: last.entries });
      verdict.className = 'verdict ok';
      verdict.setAttribute('data-state', 'intact');
    } else {
      verdict.textContent = t('chain.brokenVerdict', { bad: shown(last.firstBad) });
      verdict.className = 'verdict bad';
      verdict.setAttribute('data-state', 'broken');
    }
    var props = $('chain-props');
    clear(props);
    prop(props, t('chain.entries'), chain.entries, { testid: 'chain-entries' });
    prop(props, t('chain.headSeq'), chain.headSeq, { testid: 'chain-head' });
    prop(props, t('chain.lastAt'), last ? formatTime(last.at) : t('chain.never'), { testid: 'chain-last-at' });
    if (last) {
      prop(props, t('chain.lastResult'), last.ok ? t('chain.intact') : t('chain.broken'),
        { testid: 'chain-last-result' });
      prop(props, t('chain.lastEntries'), last.entries, { testid: 'chain-last-entries' });
      prop(props, t('chain.firstBad'), last.firstBad, { testid: 'chain-first-bad' });
      prop(props, t('chain.reason'), last.reason, { testid: 'chain-reason' });
      prop(props, t('chain.by'), last.by, { testid: 'chain-by' });
    }
  }

  /* ---------------------------------------------------- permission review */

  function loadReview() {
    var days = parseInt($('r-unused-days').value, 10) || 90;
    setStatus(t('review.loading'));
    return gql(REVIEW_QUERY, { days: days }).then(function (data) {
      state.review.lists = data.permissionReview;
      return gql(REVIEW_HISTORY_QUERY);
    }).then(function (data) {
      state.review.history = data;
      renderReview();
      setStatus('');
    }, handleError);
  }

  function onReviewRefresh(event) {
    event.preventDefault();
    loadReview();
  }

  function onRecordReview(event) {
    event.preventDefault();
    var note = $('r-note').value.trim();
    if (!note) {
      showError(t('review.emptyNote'));
      return;
    }
    var button = $('record-form').querySelector('button[type=submit]');
    button.disabled = true;
    showError('');
    gql(RECORD_MUTATION, { note: note }).then(function () {
      $('r-note').value = '';
      return loadReview().then(function () { setStatus(t('review.recorded')); });
    }, handleError).then(function () { button.disabled = false; });
  }

  function credentialRow(credential, testid, cells) {
    var tr = el('tr');
    tr.setAttribute('data-testid', testid);
    tr.setAttribute('data-principal', credential.principal);
    [credential.id, credential.principal, credential.role, credential.region].concat(cells)
      .forEach(function (cell) { tr.appendChild(el('td', null, shown(cell))); });
    return tr;
  }

  function fillRows(bodyId, rows) {
    var body = $(bodyId);
    clear(body);
    rows.forEach(function (row) { body.appendChild(row); });
    if (!rows.length) {
      var tr = el('tr');
      var td = el('td', 'hint', t('review.none'));
      td.colSpan = 6;
      tr.appendChild(td);
      body.appendChild(tr);
    }
  }

  function ruleText(rule) {
    if (rule.kind === 'g') return 'g, ' + rule.subject + ', ' + rule.role;
    return [rule.kind, rule.subject, rule.scope, rule.object, rule.action, rule.effect].join(', ');
  }

  function renderReview() {
    var lists = state.review.lists;
    var history = state.review.history;
    if (!lists || !history) return;
    function used(c) { return c.lastUsedAt ? formatTime(c.lastUsedAt) : t('review.never'); }
    fillRows('review-unused-body', lists.unused.map(function (c) {
      return credentialRow(c, 'review-unused-row', [used(c), formatTime(c.expiresAt)]);
    }));
    fillRows('review-expiring-body', lists.expiring.map(function (c) {
      return credentialRow(c, 'review-expiring-row', [used(c), formatTime(c.expiresAt)]);
    }));
    fillRows('review-broader-body', lists.broaderThanUse.map(function (b) {
      return credentialRow(b.credential, 'review-broader-row', [b.usedRegion, b.householdsRead30d]);
    }));
    fillRows('review-policy-body', lists.policyDifferences.map(function (d) {
      var tr = el('tr');
      tr.setAttribute('data-testid', 'review-policy-row');
      tr.setAttribute('data-change', d.change);
      tr.appendChild(el('td', null, t(d.change === 'ADDED' ? 'review.added' : 'review.removed')));
      tr.appendChild(el('td', 'mono', ruleText(d.rule)));
      tr.appendChild(el('td', null, d.changedBy || t('review.unknown')));
      tr.appendChild(el('td', null, d.changedAt ? formatTime(d.changedAt) : '—'));
      return tr;
    }));
    var due = history.permissionReviewDue;
    var verdict = $('review-due');
    if (due.overdue) {
      verdict.textContent = due.lastReviewAt ? t('review.overdue') : t('review.neverReviewed');
      verdict.className = 'verdict bad';
      verdict.setAttribute('data-state', 'overdue');
    } else {
      verdict.textContent = t('review.upToDate', { due: formatTime(due.dueAt) });
      verdict.className = 'verdict ok';
      verdict.setAttribute('data-state', 'ok');
    }
    var props = $('review-due-props');
    clear(props);
    prop(props, t('review.lastAt'), due.lastReviewAt ? formatTime(due.lastReviewAt) : '—',
      { testid: 'review-last-at' });
    prop(props, t('review.lastBy'), due.lastReviewer, { testid: 'review-last-by' });
    prop(props, t('review.dueAt'), due.dueAt ? formatTime(due.dueAt) : '—', { testid: 'review-due-at' });
    prop(props, t('review.period'), due.periodDays, { testid: 'review-period' });
    var body = $('review-history-body');
    clear(body);
    history.permissionReviews.edges.forEach(function (edge) {
      var r = edge.node;
      var tr = el('tr');
      tr.setAttribute('data-testid', 'review-history-row');
      tr.appendChild(el('td', null, formatTime(r.at)));
      tr.appendChild(el('td', null, r.reviewer));
      tr.appendChild(el('td', null, r.note));
      tr.appendChild(el('td', 'num',
        [r.unused, r.expiring, r.broaderThanUse, r.policyDifferences].join(' / ')));
      body.appendChild(tr);
    });
  }

  /* ------------------------------------------------------- misuse alerts */

  function statusVariable(select) {
    return select.value && select.value !== 'ALL' ? select.value : null;
  }

  function loadAlerts() {
    var al = state.alerts;
    var ticket = ++al.loading;
    var list = $('alerts-list');
    setStatus(t('alerts.loading'));
    list.setAttribute('aria-busy', 'true');
    return gql(ALERTS_QUERY, { status: statusVariable($('al-status')), newest: ALERTS_NEWEST })
      .then(function (data) {
        if (ticket !== al.loading || al !== state.alerts) return;
        al.rows = data.alerts;
        al.thresholds = data.alertThresholds;
        list.removeAttribute('aria-busy');
        renderAlerts();
        setStatus(al.rows.length >= ALERTS_NEWEST
          ? t('alerts.truncated', { n: ALERTS_NEWEST })
          : t('alerts.loaded', { n: al.rows.length }));
      }, function (err) {
        if (ticket !== al.loading) return;
        list.removeAttribute('aria-busy');
        handleError(err);
      });
  }

  function onAlertsRefresh(event) {
    if (event) event.preventDefault();
    loadAlerts();
  }

  function ruleLabel(rule) {
    return has('rule.' + rule) ? t('rule.' + rule) : rule;
  }

  function roleLabel(role) {
    if (role === '*') return t('alerts.anyRole');
    return has('role.' + role) ? t('role.' + role) + ' (' + role + ')' : role;
  }

  function alertHour(alert) {
    return t('alerts.hourValue', { start: formatTime(alert.windowStart, 'minute') });
  }

  function evidenceCell(alert) {
    var cell = el('td', 'mono evidence');
    if (!alert.evidence.length) {
      cell.textContent = t('none');
      return cell;
    }
    alert.evidence.forEach(function (seq, i) {
      if (i) cell.appendChild(document.createTextNode(', '));
      var link = el('button', 'link', '#' + seq);
      link.type = 'button';
      link.title = t('alerts.evidenceTitle', { seq: seq });
      link.setAttribute('data-testid', 'alert-evidence');
      link.setAttribute('data-seq', String(seq));
      link.addEventListener('click', function () { showEvidence(alert, seq); });
      cell.appendChild(link);
    });
    return cell;
  }

  function renderAlerts() {
    var al = state.alerts;
    if (!al.rows) return;
    var body = $('alerts-body');
    clear(body);
    al.rows.forEach(function (alert) {
      var tr = el('tr');
      tr.setAttribute('data-testid', 'alert-row');
      tr.setAttribute('data-id', alert.id);
      tr.setAttribute('data-rule', alert.rule);
      tr.setAttribute('data-principal', alert.principal);
      tr.setAttribute('data-status', alert.status);
      if (alert.id === al.acking) tr.className = 'selected';
      var rule = el('td', null, ruleLabel(alert.rule));
      rule.title = alert.rule;
      tr.appendChild(rule);
      tr.appendChild(el('td', null, alert.principal));
      tr.appendChild(el('td', null, roleLabel(alert.role)));
      tr.appendChild(el('td', null, alertHour(alert)));
      tr.appendChild(el('td', 'num', alert.count));
      tr.appendChild(evidenceCell(alert));
      var status = el('td');
      var badge = el('span', 'badge alert-' + String(alert.status).toLowerCase().replace(/[^a-z]/g, ''),
        t('alertStatus.' + alert.status));
      badge.title = alert.status;
      status.appendChild(badge);
      tr.appendChild(status);
      var handled = el('td');
      if (alert.acknowledgedBy) {
        handled.appendChild(el('div', null, alert.acknowledgedBy + ' · ' + formatTime(alert.acknowledgedAt)));
        handled.appendChild(el('div', 'note', alert.note));
      } else {
        handled.textContent = t('none');
      }
      tr.appendChild(handled);
      var action = el('td');
      if (alert.status === 'OPEN') {
        var ack = el('button', null, t('alerts.ack'));
        ack.type = 'button';
        ack.setAttribute('data-testid', 'alert-ack');
        ack.addEventListener('click', function () { openAck(alert); });
        action.appendChild(ack);
      }
      tr.appendChild(action);
      body.appendChild(tr);
    });
    show($('alerts-empty'), al.rows.length === 0);
    renderAckForm();

    var thresholds = $('alert-thresholds-body');
    clear(thresholds);
    (al.thresholds || []).forEach(function (item) {
      var tr = el('tr');
      tr.setAttribute('data-testid', 'alert-threshold-row');
      tr.setAttribute('data-rule', item.rule);
      tr.setAttribute('data-role', item.role);
      tr.setAttribute('data-threshold', String(item.threshold));
      tr.appendChild(el('td', null, ruleLabel(item.rule) + ' (' + item.rule + ')'));
      tr.appendChild(el('td', null, roleLabel(item.role)));
      tr.appendChild(el('td', 'num', item.threshold === 0 ? t('alerts.off') : item.threshold));
      thresholds.appendChild(tr);
    });
  }

  function ackedAlert() {
    var al = state.alerts;
    var found = null;
    (al.rows || []).forEach(function (alert) {
      if (alert.id === al.acking) found = alert;
    });
    return found;
  }

  function openAck(alert) {
    var al = state.alerts;
    if (al.acking !== alert.id) $('ack-note').value = '';
    al.acking = alert.id;
    al.ackError = null;
    al.ackAlert = alert;
    renderAlerts();
    $('ack-note').focus();
  }

  function closeAck() {
    var al = state.alerts;
    al.acking = null;
    al.ackAlert = null;
    al.ackError = null;
    $('ack-note').value = '';
    renderAlerts();
    show($('ack-form'), false);
  }

  /** The form names its alert as it was when opened, even once another auditor took it. */
  function renderAckForm() {
    var al = state.alerts;
    var form = $('ack-form');
    if (!al.acking) {
      show(form, false);
      return;
    }
    var alert = ackedAlert() || al.ackAlert;
    $('ack-heading').textContent = t('alerts.ackHeading', {
      rule: ruleLabel(alert.rule), principal: alert.principal, hour: alertHour(alert)
    });
    form.setAttribute('data-id', alert.id);
    var box = $('ack-error');
    var error = al.ackError;
    if (error) {
      var text = error.key ? t(error.key) : (has('ackError.' + error.code)
        ? t('ackError.' + error.code) : t('ackError.other'));
      if (error.code) text += '（' + codeText(error.code) + '）';
      if (error.detail) text += ' — ' + error.detail;
      box.textContent = text;
      box.setAttribute('data-code', error.code || '');
    } else {
      box.textContent = '';
      box.removeAttribute('data-code');
    }
    show(box, !!error);
    show(form, true);
  }

  function onAcknowledge(event) {
    event.preventDefault();
    var al = state.alerts;
    var id = al.acking;
    if (!id) return;
    var note = $('ack-note').value.trim();
    if (!note) {
      al.ackError = { key: 'alerts.emptyNote', code: '' };
      renderAckForm();
      $('ack-note').focus();
      return;
    }
    var button = $('ack-form').querySelector('button[type=submit]');
    button.disabled = true;
    al.ackError = null;
    renderAckForm();
    gql(ACK_MUTATION, { id: id, note: note }).then(function () {
      if (al !== state.alerts) return null;
      closeAck();
      return loadAlerts().then(function () { setStatus(t('alerts.acknowledged')); });
    }, function (err) {
      if (al !== state.alerts) return null;
      if (err && err.code === 'UNAUTHENTICATED') {
        handleError(err);
        return null;
      }
      al.ackError = { code: err && err.code, detail: err && err.detail };
      renderAckForm();
      // a stale list (taken by another auditor, or gone) is reloaded under the message
      if (err && (err.code === 'CONFLICT' || err.code === 'NOT_FOUND')) return loadAlerts();
      return null;
    }).then(function () { button.disabled = false; });
  }

  /**
   * Open an alert's evidence among the audit events: its principal's events up to the end
   * of the alert's hour, newest first, paged until the entry is on the page.
   */
  function showEvidence(alert, seq) {
    var until = beijingIso(Date.parse(alert.windowStart) + HOUR_MS);
    ['f-role', 'f-outcome', 'f-archive', 'f-person', 'f-since', 'archive-search']
      .forEach(function (id) { $(id).value = ''; });
    $('f-principal').value = alert.principal;
    $('f-until').value = until.slice(0, 19);
    selectView('events');
    var ev = state.events;
    var filter = { principal: alert.principal, until: until };
    ev.filter = filter;
    ev.archiveMode = false;
    closeDetail();
    var ticket = ++ev.loading;
    var list = $('events-list');
    list.setAttribute('aria-busy', 'true');
    ev.pageInfo = null;
    setPager(false);
    setStatus(t('alerts.finding', { seq: seq }));
    var cursors = [null];

    function page(index) {
      var variables = Object.assign({}, filter, { first: PAGE_SIZE, after: cursors[index] });
      return gql(EVENTS_QUERY, variables).then(function (data) {
        if (ticket !== ev.loading || ev !== state.events) return null;
        var connection = data.auditEvents;
        var nodes = connection.edges.map(function (edge) { return edge.node; });
        var found = nodes.some(function (node) { return node.seq === seq; });
        var passed = nodes.length && nodes[nodes.length - 1].seq < seq;
        var info = connection.pageInfo;
        var more = info.hasNextPage && info.endCursor && nodes.length;
        if (!found && !passed && more && index + 1 < EVIDENCE_PAGES) {
          cursors.push(info.endCursor);
          return page(index + 1);
        }
        ev.cursors = cursors;
        ev.page = index;
        ev.nodes = nodes;
        ev.pageInfo = info;
        list.removeAttribute('aria-busy');
        showError('');
        if (found) {
          openDetail(seq);
          setStatus(t('alerts.found', { seq: seq }));
        } else {
          renderEvents();
          setStatus(t('alerts.notFound', { seq: seq, principal: alert.principal }));
        }
        return null;
      });
    }

    page(0).catch(function (err) {
      if (ticket !== ev.loading) return;
      list.removeAttribute('aria-busy');
      setPager(true);
      handleError(err);
    });
  }

  /* ------------------------------------------------------ policy proposals */

  function loadProposals() {
    var pp = state.proposals;
    var ticket = ++pp.loading;
    var table = $('view-proposals');
    setStatus(t('proposals.loading'));
    table.setAttribute('aria-busy', 'true');
    return gql(PROPOSALS_QUERY, { status: statusVariable($('pp-status')) }).then(function (data) {
      if (ticket !== pp.loading || pp !== state.proposals) return;
      pp.rows = data.policyProposals;
      table.removeAttribute('aria-busy');
      renderProposals();
      setStatus(t('proposals.loaded', { n: pp.rows.length }));
    }, function (err) {
      if (ticket !== pp.loading) return;
      table.removeAttribute('aria-busy');
      handleError(err);
    });
  }

  function onProposalsRefresh(event) {
    if (event) event.preventDefault();
    loadProposals();
  }

  function rulesCell(rules, testid) {
    var cell = el('td', 'mono');
    cell.setAttribute('data-testid', testid);
    if (!rules.length) {
      cell.textContent = t('none');
      return cell;
    }
    rules.forEach(function (rule) { cell.appendChild(el('div', null, ruleText(rule))); });
    return cell;
  }

  function decisionLabel(decision) {
    return has('decision.' + decision) ? t('decision.' + decision) : decision;
  }

  function wideningCell(proposal) {
    var cell = el('td');
    cell.setAttribute('data-testid', 'proposal-widened');
    cell.setAttribute('data-count', String(proposal.widenedCount));
    cell.appendChild(el('div', null, t('proposals.widenedCount', { n: proposal.widenedCount })));
    var shownWidenings = proposal.widened.slice(0, WIDENINGS_SHOWN);
    if (shownWidenings.length) {
      var list = el('ul', 'widened');
      shownWidenings.forEach(function (w) {
        var item = el('li', null, t('proposals.widening', {
          role: w.role, scope: w.scope, object: w.object,
          before: decisionLabel(w.before), after: decisionLabel(w.after)
        }));
        item.setAttribute('data-testid', 'proposal-widening');
        list.appendChild(item);
      });
      cell.appendChild(list);
    }
    var rest = proposal.widenedCount - shownWidenings.length;
    if (rest > 0) cell.appendChild(el('div', 'hint', t('proposals.widenedMore', { n: rest })));
    return cell;
  }

  function renderProposals() {
    var pp = state.proposals;
    if (!pp.rows) return;
    var body = $('proposals-body');
    clear(body);
    pp.rows.forEach(function (proposal) {
      var tr = el('tr');
      tr.setAttribute('data-testid', 'proposal-row');
      tr.setAttribute('data-id', proposal.id);
      tr.setAttribute('data-status', proposal.status);
      tr.setAttribute('data-proposer', proposal.proposer);
      tr.appendChild(el('td', 'nowrap', proposal.proposer));
      tr.appendChild(el('td', 'nowrap', formatTime(proposal.proposedAt)));
      var status = el('td');
      var badge = el('span', 'badge proposal-' + String(proposal.status).toLowerCase().replace(/[^a-z]/g, ''),
        t('proposalStatus.' + proposal.status));
      badge.title = proposal.status;
      status.appendChild(badge);
      tr.appendChild(status);
      tr.appendChild(rulesCell(proposal.adds, 'proposal-adds'));
      tr.appendChild(rulesCell(proposal.removes, 'proposal-removes'));
      tr.appendChild(wideningCell(proposal));
      tr.appendChild(el('td', null, proposal.decidedBy
        ? proposal.decidedBy + ' · ' + formatTime(proposal.decidedAt) : t('none')));
      tr.appendChild(el('td', 'note', shown(proposal.note)));
      body.appendChild(tr);
    });
    show($('proposals-empty'), pp.rows.length === 0);
  }


  /* ------------------------------------------------ verification (核对) */

  function onVerificationRefresh(event) {
    if (event) event.preventDefault();
    var county = $('vf-county').value.trim();
    if (!/^[0-9]{6}$/.test(county)) {
      showError(t('verification.badCounty'));
      return;
    }
    showError('');
    var vf = state.verification;
    var ticket = ++vf.loading;
    var table = $('view-verification');
    setStatus(t('verification.loading'));
    table.setAttribute('aria-busy', 'true');
    gql(VERIFICATION_QUERY, { county: county }).then(function (data) {
      if (ticket !== vf.loading || vf !== state.verification) return;
      vf.county = county;
      vf.rows = data.verificationActivity;
      table.removeAttribute('aria-busy');
      renderVerification();
    }, function (err) {
      if (ticket !== vf.loading) return;
      table.removeAttribute('aria-busy');
      handleError(err);
    });
  }

  function departmentLabel(department) {
    return has('department.' + department) ? t('department.' + department) : department;
  }

  function countCells(tr, counts) {
    VERIFICATION_COUNTS.forEach(function (name) {
      var cell = el('td', 'num', counts[name]);
      cell.setAttribute('data-testid', 'verification-' + name);
      if (name === 'overdue' && counts[name] > 0) cell.className = 'num overdue';
      tr.appendChild(cell);
    });
  }

  function renderVerification() {
    var vf = state.verification;
    if (!vf.rows) return;
    var body = $('verification-body');
    var foot = $('verification-foot');
    clear(body);
    clear(foot);
    var total = {};
    VERIFICATION_COUNTS.forEach(function (name) { total[name] = 0; });
    // the departments in the order the issue and the paper list them
    var rows = vf.rows.slice().sort(function (a, b) {
      return DEPARTMENTS.indexOf(a.department) - DEPARTMENTS.indexOf(b.department);
    });
    rows.forEach(function (row) {
      var tr = el('tr');
      tr.setAttribute('data-testid', 'verification-row');
      tr.setAttribute('data-department', row.department);
      var name = el('td', null, departmentLabel(row.department));
      name.title = row.department;
      tr.appendChild(name);
      countCells(tr, row);
      VERIFICATION_COUNTS.forEach(function (key) { total[key] += row[key]; });
      body.appendChild(tr);
    });
    if (rows.length) {
      var sum = el('tr');
      sum.setAttribute('data-testid', 'verification-total');
      sum.appendChild(el('th', null, t('verification.total')));
      countCells(sum, total);
      foot.appendChild(sum);
    }
    show($('verification-empty'), rows.length === 0);
    setStatus(t('verification.loaded', { county: vf.county, n: rows.length, overdue: total.overdue }));
  }

  /* ---------------------------------------------------------------- i18n */

  function applyLanguage() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = t('title');
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n]'), function (node) {
      node.textContent = t(node.getAttribute('data-i18n'));
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n-aria]'), function (node) {
      node.setAttribute('aria-label', t(node.getAttribute('data-i18n-aria')));
    });
    var toggle = $('lang-toggle');
    toggle.textContent = t('lang.other');
    toggle.setAttribute('lang', lang === 'zh' ? 'en' : 'zh-CN');
    fillSelect($('f-role'), ROLES, function (role) {
      return t('role.' + role) + ' (' + role + ')';
    }, t('filters.any'));
    fillSelect($('f-outcome'), OUTCOMES, function (outcome) {
      return t('outcome.' + outcome) + ' (' + outcome + ')';
    }, t('filters.any'));
    fillSelect($('a-range'), RANGES.map(function (r) { return r.key; }), function (key) {
      return t('range.' + key);
    });
    fillSelect($('a-bucket'), ['HOUR', 'DAY'], function (key) { return t('bucket.' + key); });
    fillSelect($('a-by'), ['PRINCIPAL', 'ROLE'], function (key) { return t('by.' + key); });
    if (!$('a-range').value) $('a-range').value = '7d';
    fillSelect($('al-status'), ALERT_STATUSES, function (key) { return t('alertStatus.' + key); });
    fillSelect($('pp-status'), PROPOSAL_STATUSES, function (key) { return t('proposalStatus.' + key); });
  }

  function rerender() {
    applyLanguage();
    if (!$('app').hidden) {
      renderEvents();
      if (state.events.detailSeq !== null) renderDetail();
      renderActivity();
      renderChain();
      renderReview();
      renderAlerts();
      renderProposals();
      renderVerification();
    }
    var key = $('login-error').getAttribute('data-message');
    if (key) loginMessage(key);
    setStatus('');
  }

  function onToggleLanguage() {
    lang = lang === 'zh' ? 'en' : 'zh';
    try {
      window.localStorage.setItem(LANG_KEY, lang);
    } catch (e) { /* not kept: fine */ }
    rerender();
  }

  /* ---------------------------------------------------------------- start */

  function start() {
    applyLanguage();
    $('a-range').value = '7d';
    $('login-form').addEventListener('submit', onLogin);
    $('logout').addEventListener('click', function () { signOut(null); });
    $('forbidden-switch').addEventListener('click', function () { signOut(null); });
    $('lang-toggle').addEventListener('click', onToggleLanguage);
    VIEWS.forEach(function (view) {
      var tab = $('tab-' + view);
      tab.addEventListener('click', function () { selectView(view); });
      tab.addEventListener('keydown', onTabKey);
    });
    $('archive-form').addEventListener('submit', onArchiveSearch);
    $('filter-form').addEventListener('submit', onFilter);
    $('filter-reset').addEventListener('click', onReset);
    $('export').addEventListener('click', onExport);
    $('next-page').addEventListener('click', onNextPage);
    $('prev-page').addEventListener('click', onPrevPage);
    $('first-page').addEventListener('click', onFirstPage);
    $('detail-back').addEventListener('click', function () {
      closeDetail();
      renderEvents();
    });
    $('activity-form').addEventListener('submit', onActivity);
    $('a-bucket').addEventListener('change', onActivity);
    $('a-by').addEventListener('change', onActivity);
    $('a-range').addEventListener('change', onActivity);
    $('verify-chain').addEventListener('click', onVerify);
    $('chain-refresh').addEventListener('click', loadChain);
    $('review-form').addEventListener('submit', onReviewRefresh);
    $('record-form').addEventListener('submit', onRecordReview);
    $('alerts-form').addEventListener('submit', onAlertsRefresh);
    $('al-status').addEventListener('change', onAlertsRefresh);
    $('ack-form').addEventListener('submit', onAcknowledge);
    $('ack-cancel').addEventListener('click', closeAck);
    $('proposals-form').addEventListener('submit', onProposalsRefresh);
    $('pp-status').addEventListener('change', onProposalsRefresh);
    $('verification-form').addEventListener('submit', onVerificationRefresh);
    $('exports-refresh').addEventListener('click', loadExports);

    if (token()) {
      enter();
    } else {
      showState('login');
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
