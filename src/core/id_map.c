#include "id_map.h"

#include <stdlib.h>

static size_t slot_of(uint32_t id, size_t capacity) {
  /* Fibonacci hashing spreads sequential ids across the table. */
  return (size_t)((id * 2654435769u) & (uint32_t)(capacity - 1));
}

void *tcpip_id_map_get(const tcpip_id_map *map, uint32_t id) {
  if (map->capacity == 0 || id == 0) return NULL;
  for (size_t i = slot_of(id, map->capacity);; i = (i + 1) & (map->capacity - 1)) {
    const tcpip_id_map_slot *slot = &map->slots[i];
    if (slot->id == id) return slot->value;
    if (slot->id == 0) return NULL;
  }
}

static void insert_slot(tcpip_id_map_slot *slots, size_t capacity, uint32_t id, void *value) {
  size_t i = slot_of(id, capacity);
  while (slots[i].id != 0) i = (i + 1) & (capacity - 1);
  slots[i].id = id;
  slots[i].value = value;
}

static bool grow(tcpip_id_map *map) {
  size_t capacity = map->capacity ? map->capacity * 2 : 16;
  tcpip_id_map_slot *slots = calloc(capacity, sizeof *slots);
  if (slots == NULL) return false;
  for (size_t i = 0; i < map->capacity; i++) {
    if (map->slots[i].id != 0) insert_slot(slots, capacity, map->slots[i].id, map->slots[i].value);
  }
  free(map->slots);
  map->slots = slots;
  map->capacity = capacity;
  return true;
}

bool tcpip_id_map_put(tcpip_id_map *map, uint32_t id, void *value) {
  /* Keep the load under 1/2 so probe chains stay short. */
  if ((map->count + 1) * 2 > map->capacity && !grow(map)) return false;
  insert_slot(map->slots, map->capacity, id, value);
  map->count++;
  return true;
}

void *tcpip_id_map_remove(tcpip_id_map *map, uint32_t id) {
  if (map->capacity == 0 || id == 0) return NULL;
  size_t mask = map->capacity - 1;
  size_t i = slot_of(id, map->capacity);
  while (map->slots[i].id != id) {
    if (map->slots[i].id == 0) return NULL;
    i = (i + 1) & mask;
  }
  void *value = map->slots[i].value;
  /* Backward-shift deletion keeps every remaining key reachable without
   * tombstones. */
  size_t hole = i;
  for (size_t j = (i + 1) & mask; map->slots[j].id != 0; j = (j + 1) & mask) {
    size_t home = slot_of(map->slots[j].id, map->capacity);
    bool movable = (hole <= j) ? (home <= hole || home > j) : (home <= hole && home > j);
    if (movable) {
      map->slots[hole] = map->slots[j];
      hole = j;
    }
  }
  map->slots[hole].id = 0;
  map->slots[hole].value = NULL;
  map->count--;
  return value;
}

void tcpip_id_map_free(tcpip_id_map *map) {
  free(map->slots);
  map->slots = NULL;
  map->capacity = 0;
  map->count = 0;
}
