package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
)

// Upload is one signed upload form of a reply (POST /portal/uploads,
// POST /engineer/uploads), as a mini program passes it to wx.uploadFile:
// the URL, the name of the file part and formData, its fields in the
// order the reply lists them.
type Upload struct {
	Key, URL, Name, ContentType string
	FormData                    []Field
}

// Field is one field of a form.
type Field struct{ Name, Value string }

// Uploads reads the "uploads" of an upload reply, keeping each form's
// fields in order (a map would lose it).
func Uploads(r Reply) ([]Upload, error) {
	var body struct {
		Uploads []struct {
			Key         string          `json:"key"`
			URL         string          `json:"url"`
			Name        string          `json:"name"`
			ContentType string          `json:"content_type"`
			FormData    json.RawMessage `json:"form_data"`
		} `json:"uploads"`
	}
	if err := json.Unmarshal([]byte(r.Raw), &body); err != nil {
		return nil, fmt.Errorf("read the uploads: %w", err)
	}
	out := make([]Upload, 0, len(body.Uploads))
	for _, u := range body.Uploads {
		fields, err := orderedFields(u.FormData)
		if err != nil {
			return nil, fmt.Errorf("read the form of %s: %w", u.Key, err)
		}
		out = append(out, Upload{Key: u.Key, URL: u.URL, Name: u.Name, ContentType: u.ContentType, FormData: fields})
	}
	return out, nil
}

// orderedFields reads a JSON object of strings, in order.
func orderedFields(raw json.RawMessage) ([]Field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("form_data is not an object")
	}
	var fields []Field
	for dec.More() {
		name, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var value string
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		fields = append(fields, Field{Name: name.(string), Value: value})
	}
	return fields, nil
}

// UploadFile posts file as wx.uploadFile({url, name, formData, filePath})
// does: a multipart/form-data POST of formData's fields in order, then the
// file part under up.Name (with the temporary file name WeChat gives it).
// It returns the storage's status and body; only a transport failure is an
// error.
func UploadFile(ctx context.Context, hc *http.Client, up Upload, formData []Field, file []byte) (int, string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range formData {
		if err := mw.WriteField(f.Name, f.Value); err != nil {
			return 0, "", err
		}
	}
	part, err := mw.CreateFormFile(up.Name, "wxfile://tmp_0a1b2c3d4e5f.jpg")
	if err != nil {
		return 0, "", err
	}
	if _, err := part.Write(file); err != nil {
		return 0, "", err
	}
	if err := mw.Close(); err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, up.URL, &body)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("upload to %s: %w", up.URL, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	return resp.StatusCode, string(out), err
}
