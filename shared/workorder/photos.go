package workorder

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"wxchannel/shared/apperr"
	"wxchannel/shared/uploads"
)

// MaxVisitPhotos bounds a visit's photos taken before the work, and those
// taken after it.
const MaxVisitPhotos = uploads.MaxFiles

// VisitPhotos are what an engineer attaches to a visit: upload keys of the
// photos taken before and after the work, in the order sent, and of the
// customer's signature (an image). Lists only grow, and the signature is
// recorded once: a photo once shown as evidence stays.
type VisitPhotos struct {
	Before    []string `dynamo:"before_photos,omitempty" json:"before_photos,omitempty"`
	After     []string `dynamo:"after_photos,omitempty" json:"after_photos,omitempty"`
	Signature string   `dynamo:"signature,omitempty" json:"signature,omitempty"`
}

func (p VisitPhotos) empty() bool {
	return len(p.Before) == 0 && len(p.After) == 0 && p.Signature == ""
}

// VisitPhotoViews are links to a visit's photos (uploads.ViewExpiry).
type VisitPhotoViews struct {
	Before    []uploads.View `json:"before"`
	After     []uploads.View `json:"after"`
	Signature *uploads.View  `json:"signature,omitempty"`
}

// VisitPhotosRequest adds photos to the engineer's open visit (POST
// .../visit-photos, or with the check-out): keys of the engineer's own
// uploads, each at most once. Keys the visit holds already are skipped, so
// a retry changes nothing.
type VisitPhotosRequest struct {
	Before    []string `json:"before,omitempty"`
	After     []string `json:"after,omitempty"`
	Signature string   `json:"signature,omitempty"`
}

func (r VisitPhotosRequest) empty() bool {
	return VisitPhotos(r).empty()
}

// validate checks that every key is one of owner's uploads, named once.
func (r VisitPhotosRequest) validate(owner uploads.Owner) error {
	parts := []struct {
		field string
		keys  []string
	}{{"before", r.Before}, {"after", r.After}}
	for _, part := range parts {
		if len(part.keys) > MaxVisitPhotos {
			return apperr.InvalidField(part.field, fmt.Sprintf("at most %d photos", MaxVisitPhotos))
		}
	}
	seen := map[string]bool{}
	check := func(field, key string) error {
		switch {
		case !owner.Owns(key):
			return apperr.InvalidField(field, "use a key returned by /engineer/uploads for you")
		case seen[key]:
			return apperr.InvalidField(field, "a photo is sent once")
		}
		seen[key] = true
		return nil
	}
	for _, part := range parts {
		for i, key := range part.keys {
			if err := check(fmt.Sprintf("%s[%d]", part.field, i), key); err != nil {
				return err
			}
		}
	}
	if r.Signature != "" {
		return check("signature", r.Signature)
	}
	return nil
}

// photoLimit are the details of too_many_photos: the list that is full.
type photoLimit struct {
	Field string `json:"field"`
	Max   int    `json:"max"`
}

// merge adds the request's photos to those the visit holds and returns
// the visit's photos after the request and the keys new to the visit, in
// the order sent. A key the visit holds in the same place is skipped (a
// retry); in another place, or a second signature, is refused.
func (p VisitPhotos) merge(r VisitPhotosRequest) (VisitPhotos, []string, error) {
	placed := map[string]string{}
	for _, key := range p.Before {
		placed[key] = "before"
	}
	for _, key := range p.After {
		placed[key] = "after"
	}
	if p.Signature != "" {
		placed[p.Signature] = "signature"
	}
	out := VisitPhotos{Before: slices.Clone(p.Before), After: slices.Clone(p.After), Signature: p.Signature}
	var fresh []string
	add := func(place string, list *[]string, keys []string) error {
		for i, key := range keys {
			switch placed[key] {
			case place:
				continue
			case "":
				*list = append(*list, key)
				fresh = append(fresh, key)
			default:
				return apperr.InvalidField(fmt.Sprintf("%s[%d]", place, i), "the visit holds this photo as "+placed[key])
			}
		}
		if len(*list) > MaxVisitPhotos {
			return apperr.Errorf(apperr.Rejected, "too_many_photos", "a visit holds at most %d photos %s the work", MaxVisitPhotos, place).
				WithDetails(photoLimit{Field: place, Max: MaxVisitPhotos})
		}
		return nil
	}
	if err := add("before", &out.Before, r.Before); err != nil {
		return VisitPhotos{}, nil, err
	}
	if err := add("after", &out.After, r.After); err != nil {
		return VisitPhotos{}, nil, err
	}
	switch sig := r.Signature; {
	case sig == "" || sig == p.Signature:
	case p.Signature != "":
		return VisitPhotos{}, nil, apperr.E(apperr.Conflict, "signature_recorded", "the visit already has the customer's signature")
	case placed[sig] != "":
		return VisitPhotos{}, nil, apperr.InvalidField("signature", "the visit holds this photo as "+placed[sig])
	default:
		out.Signature = sig
		fresh = append(fresh, sig)
	}
	return out, fresh, nil
}

// takePhotos makes uploads part of an order or a visit: each is checked
// to be the image it claims (uploads.Bucket.Verify), then tagged attached
// so the lifecycle rule keeps it. Run before the write that stores the
// keys: a failure leaves nothing written.
func (s *Service) takePhotos(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if s.photos == nil {
		return errors.New("take photos: this function has no upload bucket")
	}
	if err := s.photos.Verify(ctx, keys); err != nil {
		return err
	}
	return s.attacher.Attach(ctx, keys)
}

// views links each key for uploads.ViewExpiry (an empty list for none).
func (s *Service) views(ctx context.Context, keys []string) ([]uploads.View, error) {
	if len(keys) == 0 {
		return []uploads.View{}, nil
	}
	if s.photos == nil {
		return nil, errors.New("photo links: this function has no upload bucket")
	}
	return s.photos.ViewURLs(ctx, keys, uploads.ViewExpiry)
}

// visitViews links a visit's photos (nil when it has none).
func (s *Service) visitViews(ctx context.Context, p VisitPhotos) (*VisitPhotoViews, error) {
	if p.empty() {
		return nil, nil
	}
	var out VisitPhotoViews
	var err error
	if out.Before, err = s.views(ctx, p.Before); err != nil {
		return nil, err
	}
	if out.After, err = s.views(ctx, p.After); err != nil {
		return nil, err
	}
	if p.Signature != "" {
		sig, err := s.views(ctx, []string{p.Signature})
		if err != nil {
			return nil, err
		}
		out.Signature = &sig[0]
	}
	return &out, nil
}

// withViews returns the visit with links to its photos.
func (s *Service) withViews(ctx context.Context, v Visit) (Visit, error) {
	views, err := s.visitViews(ctx, v.VisitPhotos)
	if err != nil {
		return Visit{}, err
	}
	v.Views = views
	return v, nil
}

// Detail is an order as the people allowed its photos see it (its owner,
// its engineer, the tenant's admins): the order, links to its photos, and
// the photos its engineers took at its visits, oldest visit first.
type Detail struct {
	Order
	PhotoViews  []uploads.View     `json:"photo_views"`
	VisitPhotos []OrderVisitPhotos `json:"visit_photos"`
}

// detail links an order's photos and its visits'.
func (s *Service) detail(ctx context.Context, o Order, visits []OrderVisitPhotos) (Detail, error) {
	views, err := s.views(ctx, o.Photos)
	if err != nil {
		return Detail{}, err
	}
	for i := range visits {
		if visits[i].Views, err = s.visitViews(ctx, visits[i].VisitPhotos); err != nil {
			return Detail{}, err
		}
	}
	if visits == nil {
		visits = []OrderVisitPhotos{}
	}
	return Detail{Order: o, PhotoViews: views, VisitPhotos: visits}, nil
}
