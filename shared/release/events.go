package release

import (
	"context"
	"net/http"

	"wxchannel/shared/app"
	"wxchannel/shared/componentpush"
	"wxchannel/shared/httpapi"
)

// NewEventsHandler builds the wechatevents function's handler: WeChat's
// message and event URL for authorized mini programs (audit results).
func NewEventsHandler(ctx context.Context, d *app.Deps) (http.Handler, error) {
	rt := httpapi.NewRouter(d.Log)
	rt.Handle("GET /health/wechatevents", httpapi.Health("wechatevents"))
	rt.Handle("POST /wechat/events/{appid}", func(w http.ResponseWriter, r *http.Request) error {
		// Pushes are verified before anything else; audit handling comes
		// with the release pipeline.
		if _, _, err := componentpush.Open(r, d); err != nil {
			return err
		}
		return httpapi.Errorf(http.StatusNotImplemented, "not_implemented", "this endpoint is not available yet")
	})
	return rt, nil
}
