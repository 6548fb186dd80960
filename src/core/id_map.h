/* An open-addressing map from 32-bit ids to pointers. */
#ifndef TCPIP_ID_MAP_H
#define TCPIP_ID_MAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef struct tcpip_id_map_slot {
  uint32_t id; /* 0 = empty */
  void *value;
} tcpip_id_map_slot;

typedef struct tcpip_id_map {
  tcpip_id_map_slot *slots;
  size_t capacity; /* a power of two, or 0 */
  size_t count;
} tcpip_id_map;

void *tcpip_id_map_get(const tcpip_id_map *map, uint32_t id);
/* Returns false when memory runs out. `id` must be non-zero and absent. */
bool tcpip_id_map_put(tcpip_id_map *map, uint32_t id, void *value);
void *tcpip_id_map_remove(tcpip_id_map *map, uint32_t id);
void tcpip_id_map_free(tcpip_id_map *map);

#endif
