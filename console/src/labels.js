// The domain's words, in one place: what the duty officer reads for each code.
export const STATES = {
  registered: '立案', dispatched: '已派遣', accepted: '处置中', resolved: '待核查',
  verified: '核查通过', closed: '已结案', cancelled: '已注销',
};
export const ACTIONS = {
  accept: '受理', resolve: '处置完成', return: '退回', escalate: '请求上级协调',
  extend: '申请延期', verify: '核查通过', reject_resolution: '核查不通过', close: '结案',
  cancel: '注销', reopen: '重新办理', revisit: '回访', take_over: '接管',
};
export const SATISFACTION = { satisfied: '满意', basically_satisfied: '基本满意', unsatisfied: '不满意' };
export const STEPS = {
  dispatch: '派遣', merge: '合并上报', escalate: '升级', sla_warning: '时限预警',
  sla_breach: '超期', state: '状态变更', reroute: '改派',
};
export const STATE_REASONS = {
  accepted: '受理', resolved: '处置完成', verified: '核查通过', closed: '结案',
  cancelled: '注销', reopened: '重新办理', rejected: '核查不通过，返工', rework: '核查不通过，返工',
  extended: '延期',
};
// Who acted on a step (the feedback's centre) and who was told (the disposition's target).
export const ACTOR = '办理', TOLD = '送达';
export const NETWORKS = {
  zongzhi: '综治', chengguan: '城管', gongan: '公安', yingji: '应急', huanbao: '环保',
  shichang: '市场监管', video_ai: '视频 AI', open311: '12345/Open311', '12345': '12345',
};
export const TIERS = { city: '市', county: '区县', town: '乡镇（街道）', village: '村（社区）' };
export const PRIORITIES = { low: '一般', normal: '普通', high: '紧急', critical: '特急' };
export const REFUSALS = {
  invalid_transition: '当前状态不允许此操作', wrong_center: '本中心不是承办中心',
  extension_refused: '延期不予批准', unknown_case: '案件不存在', unknown_region: '目标中心不存在',
  silence_expired: '静默已结束，不能再延长或解除', silence_exists: '静默编号已存在',
  not_later: '新的结束时间须晚于当前结束时间', forbidden_region: '超出本中心辖区',
  unknown_category: '类别代码不存在', unknown_silence: '静默不存在', empty_window: '时间窗为空',
  schema: '填写内容不合要求',
};
// 静默（屏蔽）: kinds of known matter, and a silence's state now.
export const SILENCE_KINDS = { construction: '施工许可', outage: '故障抢修', event: '公共活动', other: '其他' };
export const SILENCE_STATES = { pending: '未开始', active: '生效中', expired: '已结束' };
export const label = (table, code) => (code == null ? '—' : table[code] || code);
