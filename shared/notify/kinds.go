// Package notify tells customers how their work orders progress: WeChat
// subscribe messages (订阅消息) sent from the work-order events, and an
// in-app feed holding every notification, sent or not
// (docs/notifications.md).
//
// A notification has a kind (accepted, on the way, completed, please
// rate). Each kind is one template of the mini program's own list, added
// from WeChat's public library by Setup; the mapping from the template's
// keyword keys to the order's fields is kept per mini program. A user's
// "accept" in wx.requestSubscribeMessage is a grant of one message of that
// template; the sender uses a grant only when WeChat delivered.
package notify

import (
	"slices"
	"strings"

	"wxchannel/shared/outbox"
	"wxchannel/shared/subscribe"
)

// Kind is a notification a customer can receive.
type Kind string

// The kinds, in the order the mini program asks for them.
const (
	KindAccepted  Kind = "accepted"
	KindOnTheWay  Kind = "on_the_way"
	KindCompleted Kind = "completed"
	KindRate      Kind = "rate"
)

// Kinds is every kind, in the order the mini program should request them.
var Kinds = []Kind{KindAccepted, KindOnTheWay, KindCompleted, KindRate}

// ValidKind reports whether k is a kind.
func ValidKind(k Kind) bool { return slices.Contains(Kinds, k) }

// kindsOf are the notifications an event type raises: an engineer's
// acceptance, their start towards the site, and the completion, which
// both reports it and asks for a rating.
var kindsOf = map[string][]Kind{
	outbox.WorkOrderAccepted:  {KindAccepted},
	outbox.WorkOrderEnRoute:   {KindOnTheWay},
	outbox.WorkOrderCompleted: {KindCompleted, KindRate},
}

// KindsOf are the notifications an event of type typ raises (none for
// most types).
func KindsOf(typ string) []Kind { return kindsOf[typ] }

// Notifies reports whether an event of type typ raises any notification:
// the stream consumer queues only those for the sender.
func Notifies(typ string) bool { return len(kindsOf[typ]) > 0 }

// field is a piece of a work order a template keyword can show.
type field string

// The fields the sender fills keywords with.
const (
	fieldOrderNumber field = "order_number" // the work order's id
	fieldService     field = "service"      // its category, as the customer chose it
	fieldTime        field = "time"         // when the event happened, local time
	fieldDate        field = "date"         // the event's day, local time
	fieldStatus      field = "status"       // a status word (phrase)
	fieldEngineer    field = "engineer"     // the engineer's name
	fieldArrival     field = "arrival"      // the engineer's arrival time (ETA)
	fieldNote        field = "note"         // a sentence about the step
)

// kindSpec is how a kind finds its template in the library and what it
// says.
type kindSpec struct {
	// titles are the library titles to look for, best first (the first is
	// also the search keyword).
	titles []string
	// sceneDesc is addtemplate's sceneDesc (≤ 15 characters).
	sceneDesc string
	// want are the fields to show, most important first; a template is
	// usable when every keyword maps to one of them.
	want []field
	// status and note are the kind's status word and sentence.
	status, note string
	// title is what the in-app feed shows.
	title string
}

var specs = map[Kind]kindSpec{
	KindAccepted: {titles: []string{"工单受理通知", "受理通知"}, sceneDesc: "工程师接单后通知客户",
		want:   []field{fieldOrderNumber, fieldService, fieldTime, fieldStatus, fieldEngineer, fieldNote},
		status: "已受理", note: "工程师已接单，将尽快与您联系", title: "工单已受理"},
	KindOnTheWay: {titles: []string{"服务进度提醒", "上门提醒"}, sceneDesc: "工程师出发后通知客户",
		want:   []field{fieldOrderNumber, fieldStatus, fieldEngineer, fieldArrival, fieldNote},
		status: "已出发", note: "工程师已出发，请保持电话畅通", title: "工程师已出发"},
	KindCompleted: {titles: []string{"工单完成通知", "服务完成通知"}, sceneDesc: "工单完成后通知客户",
		want:   []field{fieldOrderNumber, fieldService, fieldTime, fieldNote},
		status: "已完成", note: "服务已完成，感谢您的耐心等待", title: "工单已完成"},
	KindRate: {titles: []string{"服务评价提醒", "评价提醒"}, sceneDesc: "工单完成后邀请评价",
		want:   []field{fieldService, fieldEngineer, fieldDate, fieldNote},
		status: "待评价", note: "请为本次服务评分", title: "请评价本次服务"},
}

// fieldOf is the field a template keyword shows, from its label and rule
// ("" when the product has nothing to put there: a fee, a phone number, a
// plate).
func fieldOf(label, rule string) field {
	has := func(words ...string) bool {
		return slices.ContainsFunc(words, func(w string) bool { return strings.Contains(label, w) })
	}
	switch rule {
	case subscribe.CharacterString, subscribe.Number:
		if has("编号", "单号") {
			return fieldOrderNumber
		}
	case subscribe.Thing:
		switch {
		case has("编号", "单号"):
			return fieldOrderNumber
		case has("服务项目", "服务类型", "服务内容", "故障", "项目"):
			return fieldService
		case has("工程师", "服务人员", "处理人", "师傅"):
			return fieldEngineer
		case has("说明", "提示", "备注", "结果", "进度"):
			return fieldNote
		}
	case subscribe.Time:
		switch {
		case has("预约", "预计", "到达", "上门"):
			return fieldArrival
		case has("时间"):
			return fieldTime
		}
	case subscribe.Date:
		if has("日期", "时间") {
			return fieldDate
		}
	case subscribe.Phrase:
		if has("状态", "进度") {
			return fieldStatus
		}
	case subscribe.Name:
		if has("工程师", "服务人员", "处理人", "师傅", "人员") {
			return fieldEngineer
		}
	}
	return ""
}
