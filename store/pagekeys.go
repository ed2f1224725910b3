package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/modelkeep/modelkeep"
)

var _ modelkeep.PageKeyStore = (*Store)(nil)

// pageTokenKeyRow is the single row (id 1) holding the page token key.
type pageTokenKeyRow struct {
	ID        int       `gorm:"column:id;primaryKey;autoIncrement:false"`
	Secret    []byte    `gorm:"column:secret"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (pageTokenKeyRow) TableName() string { return "page_token_keys" }

// PageTokenKey returns the page token key, storing candidate first when
// there is none. Replicas starting at once race without harm: the insert
// does nothing when the row exists (or another insert of it commits first,
// which it waits for), and every one reads the row that won.
func (s *Store) PageTokenKey(ctx context.Context, candidate []byte) ([]byte, error) {
	db := s.db.WithContext(ctx)
	if len(candidate) == 0 {
		return nil, fmt.Errorf("store page token key: empty candidate")
	}
	row := pageTokenKeyRow{ID: 1, Secret: candidate, CreatedAt: s.nowUTC()}
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return nil, dbErr("store page token key", err)
	}
	var got pageTokenKeyRow
	if err := db.Where("id = ?", 1).Take(&got).Error; err != nil {
		return nil, dbErr("read page token key", err)
	}
	return got.Secret, nil
}
