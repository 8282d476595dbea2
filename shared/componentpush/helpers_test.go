package componentpush_test

import "wxchannel/shared/wechat/wechatsim"

func simMiniProgram(appid string) wechatsim.Authorizer {
	return wechatsim.Authorizer{AppID: appid, Name: "Acme Service", UserName: "gh_" + appid[2:14], MiniProgram: true,
		VerifyType: 0, Permissions: []int{17, 18, 30}, PrincipalName: "Acme Ltd"}
}
